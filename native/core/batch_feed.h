// A queue of streamed image batches: one thread (the caller's) pushes the images of the next
// batches as they are decoded, a training job pops one batch a step, waiting until it is there.
// The queue is not bounded: the caller decides how far ahead it feeds. A wait ends with the
// next batch, or when abort() (the job fails with abort's message) or cancel() (the job stops)
// is called. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include <torch/types.h>

namespace semihard::core {

// pop() after abort(message): what() is the message.
class FeedAborted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// pop() after cancel().
class FeedCancelled : public std::runtime_error {
 public:
  FeedCancelled() : std::runtime_error("cancelled while waiting for fed images") {}
};

class BatchFeed {
 public:
  // Queues one batch (a tensor, kept as given).
  void push(torch::Tensor images);
  // The oldest batch, waiting for one. Throws FeedAborted once abort() was called, and
  // FeedCancelled when the queue is empty once cancel() was called (until rearm() or reset()).
  torch::Tensor pop();
  // Drops the queued batches; every pop from now until rearm() or reset() throws FeedAborted(message).
  void abort(const std::string& message);
  // Ends the wait of a pop on an empty queue, and of every later one until rearm() or reset().
  void cancel();
  // Forgets abort() and cancel() (a new job starts; queued batches are kept).
  void rearm();
  // Drops the queued batches and forgets abort() and cancel() (a job ended).
  void reset();
  size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<torch::Tensor> batches_;
  std::optional<std::string> aborted_;
  bool cancelled_ = false;
};

}  // namespace semihard::core
