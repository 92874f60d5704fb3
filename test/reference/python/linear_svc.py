# scikit-learn's LinearSVC() fitted on train embeddings and applied to valid ones: the reference
# for evaluate()'s svmAccuracy (test/evaluate-svm.test.ts, scripts/bench/svm.js).
#
#   python linear_svc.py DIR DIM [--dual true|false|auto] [--tol T]
#
# DIR holds train_x.f32 and valid_x.f32 (row-major float32 rows of DIM, little-endian) and
# train_y.i32 and valid_y.i32 (int32 labels). Prints one JSON object: accuracy on valid,
# predictions (labels), decision (valid rows x K, as decision_function gives them), coef,
# intercept, classes, n_iter and the seconds fit() took. LinearSVC's defaults otherwise, with
# random_state=0.
import json
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC


def main():
    folder, dim = sys.argv[1], int(sys.argv[2])
    dual = 'auto'
    tol = 1e-4
    args = sys.argv[3:]
    for i in range(0, len(args), 2):
        if args[i] == '--dual':
            dual = {'true': True, 'false': False, 'auto': 'auto'}[args[i + 1]]
        elif args[i] == '--tol':
            tol = float(args[i + 1])
    train_x = np.fromfile(f'{folder}/train_x.f32', dtype='<f4').reshape(-1, dim)
    valid_x = np.fromfile(f'{folder}/valid_x.f32', dtype='<f4').reshape(-1, dim)
    train_y = np.fromfile(f'{folder}/train_y.i32', dtype='<i4')
    valid_y = np.fromfile(f'{folder}/valid_y.i32', dtype='<i4')
    svc = LinearSVC(random_state=0, dual=dual, tol=tol)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', ConvergenceWarning)
        started = time.perf_counter()
        svc.fit(train_x, train_y)
        seconds = time.perf_counter() - started
    predictions = svc.predict(valid_x)
    decision = svc.decision_function(valid_x)
    print(json.dumps({
        'accuracy': float((predictions == valid_y).mean()),
        'predictions': predictions.tolist(),
        'decision': np.asarray(decision, dtype=np.float64).reshape(len(valid_x), -1).tolist(),
        'coef': svc.coef_.tolist(),
        'intercept': svc.intercept_.tolist(),
        'classes': svc.classes_.tolist(),
        'n_iter': int(svc.n_iter_),
        'converged': not any(issubclass(w.category, ConvergenceWarning) for w in caught),
        'seconds': seconds,
    }))


if __name__ == '__main__':
    main()
