"""Question 3: biomarkers of progression after stopping ICI without progression (stop cohort, PFS from
the stop date). One module per analysis (entry
scripts import the functions they use from it, so a rule depends only on the modules it runs).

- :mod:`.markers`        marker specifications, the analysis data, design matrices (``prepare_analysis_data``)
- :mod:`.models`         Cox fits (the package's engine), log-rank p, q-values shared by the analyses
- :mod:`.horizon`        Simmons-style recurrence by a horizon, Fisher's exact test (``horizon_fisher``)
- :mod:`.cox`            univariable and multivariable Cox models (``univariable_cox``, ``multivariable_cox``)
- :mod:`.continuous`     splines and data-driven cut-points (``spline_analysis``, ``cutpoint_analysis``)
- :mod:`.competing`      cumulative incidence of progression for the top markers (``competing_risks``)
- :mod:`.discrimination` C, IPCW AUC, optimism and calibration of the multivariable model
- :mod:`.rechallenge`    re-challenge after progression (``rechallenge_analysis``)
- :mod:`.plots`          figures
"""
