# Oracle for the continuation analysis (tests/test_continuation_oracle.py).
# Usage: Rscript tests/oracle/continuation_oracle.R clones.csv episodes.csv out.json
# clones.csv: pid, arm, start, stop, event, weight (clone-censor-weight counting-process rows)
# episodes.csv: pid, start, stop, event, on_ici, cr, pr, age (time-varying Cox episodes)
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
cl <- read.csv(args[1])
ep <- read.csv(args[2])
out <- list(r_version = R.version.string, survival_version = as.character(packageVersion("survival")))

# weighted KM per arm on counting-process data with entry times
fit <- survfit(Surv(start, stop, event) ~ arm, data = cl, weights = weight)
s <- summary(fit, censored = FALSE)
out$km <- lapply(split(data.frame(arm = as.integer(sub("arm=", "", s$strata)), time = s$time,
                                  surv = s$surv, n_risk = s$n.risk, n_event = s$n.event), s$strata),
                 function(d) list(arm = d$arm[1], time = d$time, surv = d$surv, n_risk = d$n_risk,
                                  n_event = d$n_event))
names(out$km) <- NULL
# robust (clustered) pointwise SE of the weighted KM at fixed times
fr <- survfit(Surv(start, stop, event) ~ arm, data = cl, weights = weight, id = pid, robust = TRUE)
sr <- summary(fr, times = c(6, 12, 24))
out$km_robust <- list(arm = as.integer(sub("arm=", "", sr$strata)), time = sr$time, surv = sr$surv, std_err = sr$std.err)

# weighted Cox (arm) with cluster-robust variance, Efron and Breslow ties
for (ties in c("efron", "breslow")) {
  f <- coxph(Surv(start, stop, event) ~ arm, data = cl, weights = weight, cluster = pid, ties = ties)
  out[[paste0("ccw_cox_", ties)]] <- list(coef = unname(coef(f)), naive_var = unname(f$naive.var),
                                          robust_var = unname(f$var), loglik = f$loglik[2])
}

# time-varying Cox model (counting process)
f <- coxph(Surv(start, stop, event) ~ on_ici + cr + pr + age, data = ep)
out$tv_cox <- list(coef = unname(coef(f)), var = unname(f$var), loglik = f$loglik[2])
f <- coxph(Surv(start, stop, event) ~ on_ici + cr + pr + age, data = ep, ties = "breslow")
out$tv_cox_breslow <- list(coef = unname(coef(f)), var = unname(f$var), loglik = f$loglik[2])

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), args[3])
