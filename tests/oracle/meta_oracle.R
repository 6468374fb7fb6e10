# Oracle for icistop.stats.meta: R metafor::rma (rma.uni), weights() and predict() on the cases of
# tests/fixtures/oracle/meta_cases.json, for method FE, EE (z test) and DL, REML, PM (z and Hartung-Knapp,
# test = "knha"), each with metafor's default control and with tight stopping rules
# (control = list(threshold = 1e-14, tol = 1e-14, maxiter = 10000): REML Fisher scoring and PM uniroot to
# machine precision).
# Usage: Rscript tests/oracle/meta_oracle.R [cases.json] [out.json]   (defaults: the committed files)
suppressPackageStartupMessages({
  library(jsonlite)
  library(metafor)
})
args <- commandArgs(trailingOnly = TRUE)
cases_file <- if (length(args) >= 1) args[1] else "tests/fixtures/oracle/meta_cases.json"
out_file <- if (length(args) >= 2) args[2] else "tests/fixtures/oracle/meta_oracle.json"
cases <- fromJSON(cases_file, simplifyVector = FALSE)$cases
num <- function(x) {  # 17 significant digits (toJSON stops at 15); NA/NaN/Inf as strings; always an array
  x <- if (is.null(x)) NA_real_ else as.numeric(x)
  txt <- ifelse(is.finite(x), sprintf("%.17g", x),
                ifelse(is.nan(x), "\"NaN\"", ifelse(is.na(x), "\"NA\"", ifelse(x > 0, "\"Inf\"", "\"-Inf\""))))
  structure(paste0("[", paste(txt, collapse = ","), "]"), class = "json")
}
tight <- list(threshold = 1e-14, tol = 1e-14, maxiter = 10000)
fits <- list(c("FE", "z"), c("EE", "z"), c("DL", "z"), c("DL", "knha"), c("REML", "z"), c("REML", "knha"),
             c("PM", "z"), c("PM", "knha"))
res <- list(R_version = R.version.string, metafor_version = as.character(packageVersion("metafor")), cases = list())
for (name in names(cases)) {
  cs <- cases[[name]]
  yi <- as.numeric(unlist(cs$yi))
  sei <- as.numeric(unlist(cs$sei))
  one <- list()
  for (f in fits) {
    for (ctl in c("default", "tight")) {
      control <- if (ctl == "tight") tight else list()
      m <- suppressWarnings(rma(yi, sei = sei, method = f[1], test = f[2], level = cs$level, control = control))
      p <- suppressWarnings(predict(m, level = cs$level))
      one[[length(one) + 1]] <- c(list(method = f[1], test = f[2], control = ctl), lapply(list(
        k = m$k, tau2 = m$tau2, beta = m$beta, se = m$se, ci_lb = m$ci.lb, ci_ub = m$ci.ub, zval = m$zval,
        pval = m$pval, ddf = m$ddf, s2w = m$s2w, QE = m$QE, QEp = m$QEp, I2 = m$I2, H2 = m$H2,
        weights = weights(m), pred = p$pred, pred_se = p$se, pi_lb = p$pi.lb, pi_ub = p$pi.ub), num))
    }
  }
  res$cases[[name]] <- one
}
writeLines(toJSON(res, json_verbatim = TRUE, auto_unbox = TRUE, pretty = TRUE), out_file)
