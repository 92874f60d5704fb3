#include "batch_input.h"

#include <utility>

namespace semihard::core {

BatchInput::BatchInput(torch::Tensor source, torch::Tensor index, const Normalisation& normalisation,
                       const ImageGeometry& geometry, const torch::Device& device, bool augment,
                       const TrainTransform& transform, int64_t batch, int64_t begin, at::Generator& generator)
    : source_(std::move(source)),
      index_(std::move(index)),
      normalisation_(normalisation),
      geometry_(geometry),
      device_(device),
      transform_(transform) {
  TORCH_CHECK(source_.dim() == 4, "BatchInput: the images must be N x H x W x C");
  rows_ = index_.defined() ? index_.size(0) : source_.size(0);
  TORCH_CHECK(begin >= 0 && begin + rows_ <= batch, "BatchInput: rows [", begin, ", ", begin + rows_,
              ") are not in a batch of ", batch);
  if (!augment) return;
  if (transform_.crop.has_value()) {
    kind_ = Kind::kCrop;
    theta_ = draw_crop_transforms(batch, begin, rows_, source_.size(1), source_.size(2), generator, transform_);
  } else {
    kind_ = Kind::kAffine;
    theta_ = draw_affine(batch, generator, transform_.affine).narrow(0, begin, rows_);
  }
}

torch::Tensor BatchInput::images(const torch::Tensor& rows) const {
  if (!rows.defined()) return index_.defined() ? source_.index_select(0, index_) : source_;
  const torch::Tensor where = index_.defined() ? index_.index_select(0, upload(rows, index_.device())) : upload(rows, source_.device());
  return source_.index_select(0, where);
}

torch::Tensor BatchInput::make(const torch::Tensor& images, const torch::Tensor& theta) const {
  torch::NoGradGuard no_grad;
  switch (kind_) {
    case Kind::kCrop:
      return transformed_input(images, normalisation_, device_, theta, transform_);
    case Kind::kAffine:
      return apply_affine(network_input(centre_crop(images, geometry_), normalisation_, device_), theta);
    case Kind::kCentre:
      break;
  }
  return network_input(centre_crop(images, geometry_), normalisation_, device_);
}

torch::Tensor BatchInput::all() const { return make(images({}), theta_); }

torch::Tensor BatchInput::select(const torch::Tensor& rows) const {
  return make(images(rows), theta_.defined() ? theta_.index_select(0, rows.cpu()) : theta_);
}

}  // namespace semihard::core
