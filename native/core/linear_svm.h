// A linear support vector machine as scikit-learn's LinearSVC() fits one by default (liblinear's
// L2-regularised, squared-hinge-loss SVM with an intercept):
//
//   min_w  1/2 |w|^2 + C sum_i max(0, 1 - y_i w.x_i)^2,      x_i = (features_i, s), y_i = +-1
//
// s is the intercept scaling: a constant feature appended to every sample whose weight is
// regularised like the others (liblinear's bias; the intercept is s times that weight).
// The optimum w is unique (the objective is strongly convex); LinearSVC's dual='auto' reaches it
// with one of two solvers, and so does this, by the same rule:
//  - fewer samples than features: the dual
//      min_a  1/2 a'(Q + I/2C)a - sum_i a_i,  a_i >= 0,  Q_ij = y_i y_j x_i.x_j,  w = sum_i a_i y_i x_i
//    by coordinate descent (Hsieh, Chang, Lin, Keerthi, Sundararajan, ICML 2008, "A Dual
//    Coordinate Descent Method for Large-scale Linear SVM", Algorithm 1 with the shrinking of
//    section 3.2): one a_i at a time in a random order each pass, until the projected gradients
//    of a pass all lie within `tolerance` of 0, or `max_iterations` passes;
//  - otherwise the primal by Newton's method with conjugate gradients and a line search, until
//    |grad| <= tolerance * max(min(#positive, #negative), 1) / n * |grad at w = 0| (liblinear's
//    rule), or `max_iterations` Newton steps. With many overlapping samples the dual needs far
//    more than 1000 passes (LinearSVC(dual=True) warns that it did not converge), the primal a
//    few dozen steps.
//
// Several classes: one against the rest, one SVM a class; two classes: one SVM whose positive
// class is the larger label. A sample goes to the class of the largest decision value (two
// classes: the larger label when the value is > 0), the first on a tie. Float64 on the CPU.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace semihard::core {

// kAuto: the dual when there are fewer samples than features, else the primal (LinearSVC's
// dual='auto' for this loss and penalty).
enum class LinearSvmSolver { kAuto, kDual, kPrimal };

struct LinearSvmOptions {
  double c = 1.0;                 // weight of the loss against the regulariser
  double tolerance = 1e-4;        // dual: on its projected gradient; primal: |grad| relative to |grad at 0|
  int64_t max_iterations = 1000;  // passes over the samples (dual), Newton steps (primal)
  double intercept_scaling = 1.0; // the constant feature s; 0: no intercept
  bool shrinking = true;          // skip samples whose a_i looks settled at 0 (re-checked at the end)
  uint64_t seed = 0;              // of the dual's pass orders (each class draws from seed + its index)
  LinearSvmSolver solver = LinearSvmSolver::kAuto;
};

struct LinearSvm {
  torch::Tensor classes;  // C sorted labels, int64
  torch::Tensor weight;   // K x D float64: K = C for C > 2, 1 for two classes (for classes[1]), 0 for one
  torch::Tensor bias;     // K float64: s times the weight of the constant feature
  std::vector<int64_t> iterations;  // passes or Newton steps each of the K SVMs took (max_iterations: not converged)
};

// x: N x D floating point (any device), y: N integer labels.
LinearSvm fit_linear_svm(const torch::Tensor& x, const torch::Tensor& y, const LinearSvmOptions& options = {});

// N x K float64 decision values w.x + b.
torch::Tensor linear_svm_decision(const LinearSvm& svm, const torch::Tensor& x);

// N predicted labels, int64 on the CPU.
torch::Tensor linear_svm_predict(const LinearSvm& svm, const torch::Tensor& x);

}  // namespace semihard::core
