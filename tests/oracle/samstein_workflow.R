# R oracle for the workflow's real-data run on Samstein et al. 2019 (colorectal, n = 110).
# Usage: Rscript tests/oracle/samstein_workflow.R <clinical_tsv> <out.json>
# Overall survival from the first ICI dose in months, as in the source. Writes the KM curve
# (log-log CI) and a Cox model by regimen (reference anti-PD-1 = "PD-1/PDL-1"; Efron ties), and the
# biomarkers from the ICI start with OS (config/samstein2019.yaml): per marker (TMB as log2(TMB + 1),
# TMB >= 20 vs < 20, regimen, sex, age / 10) the Cox model (coef, se, LR and Wald tests) and the
# log-rank test of the categorical markers, and a restricted cubic spline (4 knots at Harrell's default
# quantiles, on the marker's analysis scale) with LR tests overall (vs null) and of non-linearity (vs linear).
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
# --- biomarkers from the ICI start (OS) -----------------------------------------------------------
CTL <- coxph.control(eps = 1e-12, iter.max = 100, toler.chol = .Machine$double.eps^0.9)
d$tmb <- as.numeric(d[["TMB Score"]])
d$sex <- relevel(factor(tolower(d[["Sex"]])), ref = "female")
d$age <- as.numeric(d[["Age at Which Sequencing was Reported (Days)"]])
stopifnot(!anyNA(d$tmb), !anyNA(d$age), !anyNA(d$sex))
cox_tests <- function(f) {
  b <- coef(f); v <- vcov(f); lr <- 2 * (f$loglik[2] - f$loglik[1]); wald <- drop(b %*% solve(v, b))
  list(term = names(b), coef = unname(b), se = unname(sqrt(diag(v))), df = length(b),
       lr_stat = lr, p_lr = pchisq(lr, length(b), lower.tail = FALSE),
       wald_stat = wald, p_wald = pchisq(wald, length(b), lower.tail = FALSE))
}
logrank <- function(g) {
  s <- survdiff(Surv(time, status) ~ g, data = d)
  list(chisq = s$chisq, df = length(s$n) - 1, p = pchisq(s$chisq, length(s$n) - 1, lower.tail = FALSE))
}
# Harrell's default knots (Regression Modeling Strategies 2.4.5; the rule of Hmisc::rcspline.eval):
# nk = 3 at quantiles .10/.50/.90, 4-6 equally spaced in [.05, .95], 7+ in [.025, .975] (type 7); an
# end value tied in >= 5% of the data (no interior value that frequent) becomes the next distinct value as
# an outer knot and is left out of the quantiles; with < 100 values the outer knots are the 5th smallest /
# largest. Only the branches these data reach are written out (stop() otherwise).
rcs_knots <- function(x, nk) {
  n <- length(x); u <- sort(unique(x)); freq <- as.numeric(table(x)) / n
  if (length(u) - 2 <= nk) stop("few distinct values: not needed for these data")
  outer <- if (nk > 6) 0.025 else if (nk > 3) 0.05 else 0.1
  if (max(freq[-c(1, length(freq))]) < 0.05 && (freq[1] >= 0.05 || freq[length(freq)] >= 0.05))
    stop("tied end values: not needed for these data")
  k <- quantile(x, seq(outer, 1 - outer, length.out = nk), type = 7, names = FALSE)
  if (n < 100) { s <- sort(x); k[1] <- s[5]; k[nk] <- s[n - 4] }
  stopifnot(length(unique(k)) == nk)
  k
}
# restricted cubic spline basis (Stone & Koo 1985): x and, for j = 1..k-2,
# (x - t_j)+^3 - (x - t_{k-1})+^3 (t_k - t_j) / (t_k - t_{k-1}) + (x - t_k)+^3 (t_{k-1} - t_j) / (t_k - t_{k-1}),
# divided by (t_k - t_1)^2 (Harrell's normalisation; the LR tests do not depend on it)
rcs_design <- function(x, t) {
  k <- length(t); p3 <- function(z) pmax(z, 0)^3
  B <- sapply(seq_len(k - 2), function(j)
    (p3(x - t[j]) - p3(x - t[k - 1]) * (t[k] - t[j]) / (t[k] - t[k - 1])
     + p3(x - t[k]) * (t[k - 1] - t[j]) / (t[k] - t[k - 1])) / (t[k] - t[1])^2)
  cbind(x, B)
}
spline_tests <- function(u, back) {
  kn <- rcs_knots(u, 4)
  B <- rcs_design(u, kn)
  fs <- coxph(Surv(d$time, d$status) ~ B, ties = "efron", control = CTL)
  fl <- coxph(Surv(d$time, d$status) ~ u, ties = "efron", control = CTL)
  lr_all <- 2 * (fs$loglik[2] - fs$loglik[1]); lr_nl <- 2 * (fs$loglik[2] - fl$loglik[2])
  list(knots = kn, knots_original = back(kn),
       lr_overall = lr_all, df_overall = ncol(B), p_overall = pchisq(lr_all, ncol(B), lower.tail = FALSE),
       lr_nonlinear = lr_nl, df_nonlinear = ncol(B) - 1, p_nonlinear = pchisq(lr_nl, ncol(B) - 1, lower.tail = FALSE))
}
d$log2tmb <- log2(d$tmb + 1)
d$tmb_high <- factor(ifelse(d$tmb >= 20, ">=20", "<20"), levels = c("<20", ">=20"))
d$age10 <- d$age / 10
biomarkers <- list(
  tmb = cox_tests(coxph(Surv(time, status) ~ log2(tmb + 1), data = d, ties = "efron", control = CTL)),
  tmb_high = c(cox_tests(coxph(Surv(time, status) ~ I(tmb >= 20), data = d, ties = "efron", control = CTL)),
               list(n_high = sum(d$tmb >= 20), logrank = logrank(d$tmb >= 20))),
  regimen = c(cox_tests(coxph(Surv(time, status) ~ regimen, data = d, ties = "efron", control = CTL)),
              list(logrank = logrank(d$regimen))),
  sex = c(cox_tests(coxph(Surv(time, status) ~ sex, data = d, ties = "efron", control = CTL)),
          list(logrank = logrank(d$sex))),
  age_at_ici_start = cox_tests(coxph(Surv(time, status) ~ I(age / 10), data = d, ties = "efron", control = CTL))
)
splines <- list(tmb = spline_tests(d$log2tmb, function(k) 2^k - 1),
                age_at_ici_start = spline_tests(d$age10, function(k) 10 * k))
out <- list(
  n = nrow(d), events = sum(d$status),
  km = list(time = fit$time, surv = fit$surv, lower = fit$lower, upper = fit$upper, n_risk = fit$n.risk),
  median = unname(tab["median"]), median_lower = unname(tab["0.95LCL"]), median_upper = unname(tab["0.95UCL"]),
  cox = list(term = names(coef(cx)), coef = unname(coef(cx)), se = unname(sqrt(diag(vcov(cx))))),
  biomarkers = biomarkers, splines = splines
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null"), args[2])
