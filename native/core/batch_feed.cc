#include "batch_feed.h"

#include <utility>

namespace semihard::core {

void BatchFeed::push(torch::Tensor images) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    batches_.push_back(std::move(images));
  }
  ready_.notify_all();
}

torch::Tensor BatchFeed::pop() {
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait(lock, [this] { return aborted_ || cancelled_ || !batches_.empty(); });
  if (aborted_) throw FeedAborted(*aborted_);
  // A batch that is there is taken: cancel() ends waits, the step boundary ends the job.
  if (batches_.empty()) throw FeedCancelled();
  torch::Tensor out = std::move(batches_.front());
  batches_.pop_front();
  return out;
}

void BatchFeed::abort(const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    aborted_ = message;
    batches_.clear();
  }
  ready_.notify_all();
}

void BatchFeed::cancel() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
  }
  ready_.notify_all();
}

void BatchFeed::rearm() {
  std::lock_guard<std::mutex> lock(mutex_);
  aborted_.reset();
  cancelled_ = false;
}

void BatchFeed::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  batches_.clear();
  aborted_.reset();
  cancelled_ = false;
}

size_t BatchFeed::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return batches_.size();
}

}  // namespace semihard::core
