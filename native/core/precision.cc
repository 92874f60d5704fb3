#include "precision.h"

#include <ATen/autocast_mode.h>

namespace semihard::core {

Precision parse_precision(const std::string& name) { return parse_name(kPrecisionNames, name, "precision"); }

std::optional<c10::ScalarType> autocast_dtype(Precision precision) {
  switch (precision) {
    case Precision::kBFloat16: return c10::ScalarType::BFloat16;
    case Precision::kFloat16: return c10::ScalarType::Half;
    case Precision::kFloat32: break;
  }
  return std::nullopt;
}

AutocastGuard::AutocastGuard(const c10::Device& device, Precision precision) {
  const std::optional<c10::ScalarType> dtype = autocast_dtype(precision);
  if (!dtype) return;
  active_ = true;
  device_type_ = device.type();
  previous_enabled_ = at::autocast::is_autocast_enabled(device_type_);
  previous_dtype_ = at::autocast::get_autocast_dtype(device_type_);
  at::autocast::set_autocast_dtype(device_type_, *dtype);
  at::autocast::set_autocast_enabled(device_type_, true);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_type_, previous_enabled_);
  at::autocast::set_autocast_dtype(device_type_, previous_dtype_);
}

}  // namespace semihard::core
