// Trainer's saved state (trainer.h): save_state, load_state and restore.
#include <c10/core/DeviceGuard.h>

#include <sstream>

#include "model_state.h"
#include "trainer.h"

namespace semihard::core {

void Trainer::restore(const std::string& state, const PhaseInfo& phase) {
  optimizer_.reset();
  if (phase.begun) {
    begin_phase(phase.freeze, phase.schedule.max_lr, phase.schedule.total_steps, phase.backbone_lr_factor);
    load_state(state, /*restore_optimizer=*/true);
  } else {
    load_state(state, /*restore_optimizer=*/false);
    model_->set_freeze(Freeze::kNone);
    phase_begun_ = false;
  }
}

std::string Trainer::save_state() {
  const c10::OptionalDeviceGuard guard(cuda_device(options_.device));
  torch::serialize::OutputArchive archive;
  archive.write("format", torch::tensor(kStateFormat));
  torch::serialize::OutputArchive model_archive;
  model_->save(model_archive);
  archive.write("model", model_archive);
  if (optimizer_) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer_->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  archive.write("step", torch::tensor(step_));
  scaler_.save(archive);
  archive.write("generator", generator_.get_state());
  write_model_meta(archive, ModelState{normalisation_, geometry_, options_.network.in_channels});
  std::ostringstream stream;
  archive.save_to(stream);
  return stream.str();
}

void Trainer::load_state(const std::string& bytes, bool restore_optimizer) {
  const c10::OptionalDeviceGuard guard(cuda_device(options_.device));
  torch::serialize::InputArchive archive;
  open_state(bytes, options_.device, archive);
  const ModelState model_state = load_model_state(archive, model_);
  if (options_.device.is_cuda() && is_resnet(options_.network.backbone)) model_->set_channels_last(true);
  TORCH_CHECK(model_state.geometry.channels == options_.channels && model_state.input_channels == options_.network.in_channels,
              "the state is of images of ", model_state.geometry.channels, " channels on a network of ",
              model_state.input_channels, " but this trainer's are of ", options_.channels, " on ", options_.network.in_channels);
  TORCH_CHECK(!train_.present() || model_state.geometry.height == 0 || model_state.geometry == geometry_,
              "the state was saved for images of ", model_state.geometry.stored_height, " x ", model_state.geometry.stored_width,
              " cropped to ", model_state.geometry.height, " x ", model_state.geometry.width, " but the data are ",
              geometry_.stored_height, " x ", geometry_.stored_width, " cropped to ", geometry_.height, " x ", geometry_.width);
  if (optimizer_ && restore_optimizer) {
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer_->load(optimizer_archive);
    torch::Tensor step;
    archive.read("step", step);
    step_ = step.item<int64_t>();
  }
  // The gradient scale runs across phases, as the generator does.
  scaler_.load(archive);
  torch::Tensor generator;
  archive.read("generator", generator);
  generator_.set_state(generator.to(torch::kCPU));
  normalisation_ = model_state.normalisation;
  if (model_state.geometry.height > 0) geometry_ = model_state.geometry;
}

}  // namespace semihard::core
