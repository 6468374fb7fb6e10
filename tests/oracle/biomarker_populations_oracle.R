# R oracle for the univariable biomarker analyses of each population (post_stop, from_start).
# Usage: Rscript tests/oracle/biomarker_populations_oracle.R <spec.json> <out.json>
# spec.json: {population: {csv: analysis data exported from results/biomarkers/{population}/analysis_data.parquet
#   (time, event, one column per marker, empty = unknown), markers: [{name, type, transform, scale, reference}]}}.
# Per marker, on the patients with a known value: coxph (Efron ties) of the marker on its analysis scale
# (continuous: transform(x) / scale; categorical: treatment coding against `reference`) with coef, se, the LR
# and Wald tests; for categorical markers the k-sample log-rank test (survdiff).
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
spec <- fromJSON(args[1], simplifyVector = FALSE)
CTL <- coxph.control(eps = 1e-12, iter.max = 100, toler.chol = .Machine$double.eps^0.9)

analysis_scale <- function(x, transform, scale) {
  u <- switch(transform,
              none = x,
              log = ifelse(x > 0, log(x), NA),
              log2 = ifelse(x > 0, log2(x), NA),
              log2p1 = ifelse(x > -1, log2(x + 1), NA),
              log1p = ifelse(x > -1, log1p(x), NA),
              stop("unknown transform ", transform))
  u / scale
}

marker_fit <- function(d, m) {
  x <- d[[m$name]]
  if (m$type == "continuous") {
    u <- analysis_scale(as.numeric(x), m$transform, as.numeric(m$scale))
    ok <- !is.na(u)
    z <- u[ok]; levels_out <- list()
  } else {
    ok <- !is.na(x)
    z <- relevel(factor(x[ok]), ref = m$reference)
    levels_out <- as.list(levels(z)[-1])
  }
  time <- d$time[ok]; event <- d$event[ok]
  f <- suppressWarnings(coxph(Surv(time, event) ~ z, ties = "efron", control = CTL))
  b <- coef(f); v <- vcov(f); k <- length(b)
  lr <- 2 * (f$loglik[2] - f$loglik[1])
  wald <- tryCatch(drop(b %*% solve(v, b)), error = function(e) NA_real_)
  out <- list(n = sum(ok), events = sum(event), levels = levels_out, coef = as.list(unname(b)),
              se = as.list(unname(sqrt(diag(v)))), df = k, lr_stat = lr, p_lr = pchisq(lr, k, lower.tail = FALSE),
              wald_stat = wald, p_wald = pchisq(wald, k, lower.tail = FALSE))
  if (m$type != "continuous") {
    s <- survdiff(Surv(time, event) ~ z)
    out$logrank <- list(chisq = s$chisq, df = length(s$n) - 1,
                        p = pchisq(s$chisq, length(s$n) - 1, lower.tail = FALSE))
  }
  out
}

res <- list()
for (pop in names(spec)) {
  s <- spec[[pop]]
  types <- vapply(s$markers, function(m) m$type, "")
  names(types) <- vapply(s$markers, function(m) m$name, "")
  cc <- c(time = "numeric", event = "numeric", ifelse(types == "continuous", "numeric", "character"))
  d <- read.csv(s$csv, na.strings = "", colClasses = cc, check.names = FALSE)
  res[[pop]] <- list(n = nrow(d))
  for (m in s$markers) res[[pop]]$markers[[m$name]] <- marker_fit(d, m)
}
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, na = "null"), args[2])
