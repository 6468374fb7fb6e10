# R oracle for the biomarker statistics (tests/test_oracle_biomarkers.py).
# Usage: Rscript biomarkers_oracle.R input.json output.json
# Needs survival and jsonlite; maxstat and Hmisc parts are null when those packages are missing.
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
inp <- fromJSON(args[1], simplifyVector = TRUE)
out <- list(R_version = R.version.string, survival_version = as.character(packageVersion("survival")))

# Fisher's exact test, 2 x 2 (row-major a, b, c, d)
out$fisher_2x2 <- lapply(seq_len(nrow(inp$fisher_2x2)), function(i) {
  m <- matrix(inp$fisher_2x2[i, ], 2, 2, byrow = TRUE)
  f <- fisher.test(m)
  list(p = f$p.value, or = unname(f$estimate), lo = f$conf.int[1], hi = f$conf.int[2])
})
# r x c: p-value only
rxc <- inp$fisher_rxc  # a data frame: nrow, values (list column)
out$fisher_rxc <- sapply(seq_len(nrow(rxc)), function(i) {
  fisher.test(matrix(rxc$values[[i]], nrow = rxc$nrow[i], byrow = TRUE))$p.value
})

# Benjamini-Hochberg (NA kept)
p <- inp$p_adjust
out$p_adjust_bh <- p.adjust(p, "BH")
out$p_adjust_holm <- p.adjust(p, "holm")

# Cox models (Efron ties)
d <- as.data.frame(inp$cox_data)
d$grp <- factor(d$grp, levels = inp$cox_levels)
d$bin <- factor(d$bin, levels = c("no", "yes"))
fu <- coxph(Surv(time, event) ~ grp, data = d, ties = "efron")
fb <- coxph(Surv(time, event) ~ bin, data = d, ties = "efron")
fx <- coxph(Surv(time, event) ~ x, data = d, ties = "efron")
fm <- coxph(Surv(time, event) ~ grp + bin + x, data = d, ties = "efron")
cox_out <- function(f) list(coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))),
                            loglik = f$loglik, lr_p = unname(summary(f)$logtest["pvalue"]),
                            wald_p = unname(summary(f)$waldtest["pvalue"]))
out$cox <- list(grp = cox_out(fu), bin = cox_out(fb), x = cox_out(fx), multi = cox_out(fm))
out$logrank_grp_p <- {
  s <- survdiff(Surv(time, event) ~ grp, data = d)
  pchisq(s$chisq, length(s$n) - 1, lower.tail = FALSE)
}
out$concordance_x <- concordance(Surv(time, event) ~ x, data = d, reverse = TRUE)$concordance
km <- survfit(Surv(time, event) ~ 1, data = d, conf.type = "log-log")
sk <- summary(km, times = inp$km_time)
out$km <- list(surv = sk$surv, lower = sk$lower, upper = sk$upper,
               median = unname(summary(km)$table["median"]),
               median_lo = unname(summary(km)$table["0.95LCL"]),
               median_hi = unname(summary(km)$table["0.95UCL"]))

# maximally selected log-rank statistic (maxstat) and Hmisc spline knots, when available
out$maxstat <- NULL
if (requireNamespace("maxstat", quietly = TRUE)) {
  ms <- as.data.frame(inp$maxstat_data)
  r94 <- maxstat::maxstat.test(Surv(time, event) ~ x, data = ms, smethod = "LogRank", pmethod = "Lau94",
                               minprop = inp$minprop, maxprop = inp$maxprop)
  r92 <- maxstat::maxstat.test(Surv(time, event) ~ x, data = ms, smethod = "LogRank", pmethod = "Lau92",
                               minprop = inp$minprop, maxprop = inp$maxprop)
  out$maxstat <- list(statistic = unname(r94$statistic), cutpoint = unname(r94$estimate),
                      p_lau94 = r94$p.value, p_lau92 = r92$p.value, package_version = as.character(packageVersion("maxstat")))
}
out$rcs <- NULL
if (requireNamespace("Hmisc", quietly = TRUE)) {
  out$rcs <- lapply(inp$rcs_x, function(x) {
    k <- Hmisc::rcspline.eval(x, nk = inp$rcs_nk, knots.only = TRUE)
    b <- Hmisc::rcspline.eval(x, knots = k, inclx = TRUE)
    list(knots = k, basis_row_sums = unname(rowSums(b)))
  })
}
writeLines(toJSON(out, digits = NA, na = "string", auto_unbox = TRUE, null = "null"), args[2])
