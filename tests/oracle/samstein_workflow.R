# R oracle for the workflow's real-data run on Samstein et al. 2019 (colorectal, n = 110).
# Usage: Rscript tests/oracle/samstein_workflow.R <clinical_tsv> <out.json>
# Overall survival from the first ICI dose in months, as in the source. Writes the KM curve
# (log-log CI) and a Cox model by regimen (reference anti-PD-1 = "PD-1/PDL-1"; Efron ties).
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.delim(args[1], check.names = FALSE, stringsAsFactors = FALSE)
d <- d[d[["Cancer Type"]] == "Colorectal Cancer", ]
d$time <- d[["Overall Survival (Months)"]]
d$status <- as.integer(substr(d[["Overall Survival Status"]], 1, 1) == "1")
d$regimen <- factor(c("PD-1/PDL-1" = "anti-PD-1", "Combo" = "anti-PD-1+anti-CTLA-4", "CTLA4" = "other")[d[["Drug Type"]]])
d$regimen <- relevel(d$regimen, ref = "anti-PD-1")
fit <- survfit(Surv(time, status) ~ 1, data = d, conf.type = "log-log")
tab <- summary(fit)$table
# levels with no events have infinite log-HR: left out, as the workflow does
ev <- tapply(d$status, d$regimen, sum)
dc <- droplevels(d[d$regimen %in% names(ev)[ev > 0], ])
cx <- coxph(Surv(time, status) ~ regimen, data = dc, ties = "efron")
out <- list(
  n = nrow(d), events = sum(d$status),
  km = list(time = fit$time, surv = fit$surv, lower = fit$lower, upper = fit$upper, n_risk = fit$n.risk),
  median = unname(tab["median"]), median_lower = unname(tab["0.95LCL"]), median_upper = unname(tab["0.95UCL"]),
  cox = list(term = names(coef(cx)), coef = unname(coef(cx)), se = unname(sqrt(diag(vcov(cx)))))
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null"), args[2])
