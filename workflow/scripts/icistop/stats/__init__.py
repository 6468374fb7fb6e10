"""Statistical estimators (one function per estimator): KM, Cox, PH test, log-rank, RMST, CIF, piecewise hazards, Fisher, multiplicity, splines, maxstat, discrimination, logistic, intervals."""
