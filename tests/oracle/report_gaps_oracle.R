# R oracle for the report estimates checked by tests/test_oracle_report_gaps.py.
# Usage: Rscript tests/oracle/report_gaps_oracle.R input.json output.json [part ...]
# input.json is written by the test (the embedded example's endpoints, biomarker analysis data and
# continuation designs, plus the CCW clone rows of tests/fixtures/oracle/continuation_oracle.json).
# Output: {part: {key: value}} with keys as the test builds them; NA for "not estimable".
# R packages: survival, jsonlite, maxstat (stats for fisher.test, wilcox.test, poisson.test,
# binom.test, glm, quantile, p.adjust). Closed formulas (IPCW AUC, spline basis, knots, Breslow risk
# check) are written out here in base R from their documented definitions.
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = TRUE)
inp <- fromJSON(args[1], simplifyVector = TRUE)
only <- if (length(args) >= 3) args[-(1:2)] else character(0)
CTL <- coxph.control(eps = 1e-12, iter.max = 100, toler.chol = .Machine$double.eps^0.9)
Z975 <- qnorm(0.975)

# ---------------------------------------------------------------------------------------- helpers
acc <- new.env()
put <- function(key, value) {
  v <- suppressWarnings(as.numeric(value))
  if (length(v) != 1) stop("put: not a scalar for ", key)
  assign(key, if (is.finite(v)) v else NA_real_, envir = acc)
}
fmt <- function(x) {
  # Python's f"{x:g}" for the numbers used in keys
  s <- formatC(as.numeric(x), format = "g", digits = 6)
  gsub("^ +", "", s)
}
null_na <- function(col) if (is.list(col)) unlist(lapply(col, function(v) if (is.null(v)) NA else v)) else col
frame <- function(x) as.data.frame(lapply(x, null_na), stringsAsFactors = FALSE)
known <- function(v) !is.na(v) & as.character(v) != "unknown"
ref_level <- function(v, configured) {
  # configured reference when present, else the most frequent level (ties: first in C order)
  if (!is.null(configured) && configured %in% v) return(configured)
  tab <- table(v)
  names(tab)[which.max(tab)]
}
surv_at <- function(fit, times) {
  # summary(fit, times) per requested time, NA beyond the last follow-up time
  tmax <- max(fit$time)
  ok <- times <= tmax
  res <- data.frame(time = times, surv = NA_real_, lower = NA_real_, upper = NA_real_, n_risk = NA_real_,
                    std_err = NA_real_)
  if (any(ok)) {
    s <- summary(fit, times = times[ok])
    res$surv[ok] <- s$surv; res$lower[ok] <- s$lower; res$upper[ok] <- s$upper
    res$n_risk[ok] <- s$n.risk; res$std_err[ok] <- s$std.err
  }
  # n at risk is also defined beyond follow-up (0)
  res$n_risk[!ok] <- 0
  res
}
rmean_r <- function(fit, tau) {
  # R's restricted mean and its SE; S = 1 on [0, tau] when tau precedes every time (R stops there)
  if (tau < min(fit$time)) return(c(tau, 0))
  tb <- summary(fit, rmean = tau)$table
  unname(c(tb["rmean"], tb["se(rmean)"]))
}
survdiff_p <- function(sd) {
  # p-value as print.survdiff: df = groups with a positive expected count - 1
  e <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  pchisq(sd$chisq, sum(e > 0) - 1, lower.tail = FALSE)
}
cox_table <- function(fit) {
  s <- summary(fit)
  list(coef = unname(coef(fit)), se = unname(sqrt(diag(vcov(fit)))), hr = unname(s$conf.int[, 1]),
       lower = unname(s$conf.int[, 3]), upper = unname(s$conf.int[, 4]), p = unname(s$coefficients[, "Pr(>|z|)"]),
       lrt = unname(s$logtest["test"]), lrt_p = unname(s$logtest["pvalue"]), wald = unname(fit$wald.test),
       wald_p = pchisq(unname(fit$wald.test), length(coef(fit)), lower.tail = FALSE), loglik = fit$loglik)
}

ep <- frame(inp$endpoints)
ep$in_stop_cohort <- as.logical(ep$in_stop_cohort)
ENDPOINTS <- list(
  pfs_after_stop = list(stop = TRUE, time = "stop_pfs_time", event = "stop_pfs_event", cause = "stop_pfs_cause"),
  os_after_stop = list(stop = TRUE, time = "stop_os_time", event = "stop_os_event"),
  pfs_from_start = list(stop = FALSE, time = "pfs_time", event = "pfs_event", cause = "pfs_cause"),
  os_from_start = list(stop = FALSE, time = "os_time", event = "os_event"))
endpoint_data <- function(name) {
  e <- ENDPOINTS[[name]]
  d <- if (e$stop) ep[ep$in_stop_cohort, ] else ep
  d <- d[!is.na(d[[e$time]]) & !is.na(d[[e$event]]), ]
  d$time <- as.numeric(d[[e$time]]); d$event <- as.numeric(d[[e$event]])
  if (!is.null(e$cause)) d$cause <- as.numeric(d[[e$cause]])
  d
}

# ---------------------------------------------------------------------------------------- survival section
part_survival <- function() {
  sc <- inp$survival
  lm <- as.numeric(sc$landmarks)
  for (name in names(ENDPOINTS)) {
    d <- endpoint_data(name)
    groupings <- c("overall", if (ENDPOINTS[[name]]$stop) sc$groupings_after_stop else sc$groupings_from_start)
    for (g in groupings) {
      if (g == "overall") {
        parts <- list(all = d)
      } else {
        dd <- d[known(d[[g]]), ]
        parts <- split(dd, as.character(dd[[g]]))
      }
      for (lv in names(parts)) {
        x <- parts[[lv]]
        fit <- survfit(Surv(time, event) ~ 1, data = x, conf.type = "log-log")
        at <- surv_at(fit, lm)
        for (i in seq_along(lm)) {
          k <- paste("landmark", name, g, lv, fmt(lm[i]), sep = "|")
          put(paste0(k, "|surv"), at$surv[i]); put(paste0(k, "|lower"), at$lower[i]); put(paste0(k, "|upper"), at$upper[i])
          put(paste0(k, "|n_risk"), at$n_risk[i])
          put(paste0(k, "|cum_events"), sum(x$event[x$time <= lm[i]]))
          put(paste0(k, "|cum_censored"), sum(1 - x$event[x$time <= lm[i]]))
          put(paste0(k, "|n"), nrow(x))
        }
        for (tt in as.numeric(sc$risk_table_times)) {
          # KMunicate risk table: at risk at t, events and censorings in [0, t]
          k <- paste("risktable", name, g, lv, fmt(tt), sep = "|")
          put(paste0(k, "|n_risk"), sum(x$time >= tt)); put(paste0(k, "|cum_events"), sum(x$event[x$time <= tt]))
          put(paste0(k, "|cum_censored"), sum(1 - x$event[x$time <= tt]))
        }
        tab <- summary(fit)$table
        k <- paste("median", name, g, lv, sep = "|")
        put(paste0(k, "|median"), tab["median"]); put(paste0(k, "|lower"), tab["0.95LCL"])
        put(paste0(k, "|upper"), tab["0.95UCL"]); put(paste0(k, "|events"), tab["events"])
        for (tau in as.numeric(sc$rmst_tau)) {
          rt <- rmean_r(fit, tau)
          k <- paste("rmst", name, g, lv, fmt(tau), sep = "|")
          put(paste0(k, "|rmst"), rt[1]); put(paste0(k, "|se"), rt[2])
          put(paste0(k, "|lower"), rt[1] - Z975 * rt[2]); put(paste0(k, "|upper"), rt[1] + Z975 * rt[2])
        }
      }
      if (g != "overall" && length(parts) >= 2) {
        # RMST differences vs the reference level (independent groups)
        ref <- sc$reference_levels[[g]]
        if (is.null(ref) || !(ref %in% names(parts))) ref <- names(parts)[1]
        for (tau in as.numeric(sc$rmst_tau)) {
          rm <- sapply(parts, function(x) rmean_r(survfit(Surv(time, event) ~ 1, data = x), tau))
          for (lv in setdiff(names(parts), ref)) {
            dif <- rm[1, lv] - rm[1, ref]; se <- sqrt(rm[2, lv]^2 + rm[2, ref]^2)
            k <- paste("rmst_diff", name, g, lv, fmt(tau), sep = "|")
            put(paste0(k, "|diff"), dif); put(paste0(k, "|se"), se)
            put(paste0(k, "|lower"), dif - Z975 * se); put(paste0(k, "|upper"), dif + Z975 * se)
            put(paste0(k, "|p"), 2 * pnorm(-abs(dif / se)))
          }
        }
      }
    }
    # reverse Kaplan-Meier follow-up
    rf <- survfit(Surv(time, 1 - event) ~ 1, data = d, conf.type = "log-log")
    q <- quantile(rf, c(0.25, 0.5, 0.75))
    k <- paste("followup", name, sep = "|")
    put(paste0(k, "|median"), q$quantile[2]); put(paste0(k, "|median_lower"), q$lower[2])
    put(paste0(k, "|median_upper"), q$upper[2]); put(paste0(k, "|q1"), q$quantile[1]); put(paste0(k, "|q3"), q$quantile[3])
    put(paste0(k, "|min_time"), min(d$time)); put(paste0(k, "|max_time"), max(d$time))
    # Cox HR per level (levels without events left out), log-rank; plain and stratified by site
    if (!ENDPOINTS[[name]]$stop) groupings_cmp <- sc$groupings_from_start else groupings_cmp <- sc$groupings_after_stop
    for (g in groupings_cmp) {
      dd <- d[known(d[[g]]), ]
      dd$g <- as.character(dd[[g]])
      if (length(unique(dd$g)) < 2 || sum(dd$event) == 0) next
      strata_ok <- all(sapply(sc$strata, function(s) length(unique(dd[[s]])) > 1))
      dd$s <- interaction(dd[sc$strata], drop = TRUE)
      sd0 <- survdiff(Surv(time, event) ~ g, data = dd)
      k <- paste("logrank", name, g, "plain", sep = "|")
      put(paste0(k, "|chisq"), sd0$chisq); put(paste0(k, "|p"), survdiff_p(sd0))
      if (strata_ok) {
        sd1 <- survdiff(Surv(time, event) ~ g + strata(s), data = dd)
        k <- paste("logrank", name, g, "stratified", sep = "|")
        put(paste0(k, "|chisq"), sd1$chisq); put(paste0(k, "|p"), survdiff_p(sd1))
      }
      ev <- tapply(dd$event, dd$g, sum)
      cd <- dd[dd$g %in% names(ev)[ev > 0], ]
      if (length(unique(cd$g)) < 2) next
      ref <- ref_level(cd$g, sc$reference_levels[[g]])
      cd$g <- factor(cd$g, levels = c(ref, setdiff(sort(unique(cd$g)), ref)))
      for (st in c("plain", if (strata_ok) "stratified")) {
        f <- if (st == "plain") coxph(Surv(time, event) ~ g, data = cd, ties = "efron", control = CTL)
             else coxph(Surv(time, event) ~ g + strata(s), data = cd, ties = "efron", control = CTL)
        ct <- cox_table(f)
        lv <- levels(cd$g)[-1]
        for (i in seq_along(lv)) {
          k <- paste("cox", name, g, st, lv[i], sep = "|")
          put(paste0(k, "|hr"), ct$hr[i]); put(paste0(k, "|lower"), ct$lower[i]); put(paste0(k, "|upper"), ct$upper[i])
          put(paste0(k, "|p"), ct$p[i]); put(paste0(k, "|lrt_p"), ct$lrt_p)
        }
      }
    }
  }
  # competing risks after stopping: Aalen-Johansen CIF (log CI), overall and by grouping
  d <- endpoint_data("pfs_after_stop")
  for (g in c("overall", sc$groupings_after_stop)) {
    parts <- if (g == "overall") list(all = d) else { dd <- d[known(d[[g]]), ]; split(dd, as.character(dd[[g]])) }
    for (lv in names(parts)) {
      x <- parts[[lv]]
      x$st <- factor(x$cause, levels = c(0, 1, 2))
      f <- survfit(Surv(time, st) ~ 1, data = x)
      tmax <- max(f$time)
      for (tt in lm) {
        for (cause in c("1", "2")) {
          k <- paste("cif", g, lv, cause, fmt(tt), sep = "|")
          if (tt > tmax) {
            for (q in c("cif", "se", "lower", "upper")) put(paste0(k, "|", q), NA)
            put(paste0(k, "|n_risk"), 0)
            next
          }
          s <- summary(f, times = tt)
          j <- match(cause, s$states)
          put(paste0(k, "|cif"), s$pstate[1, j]); put(paste0(k, "|se"), s$std.err[1, j])
          put(paste0(k, "|lower"), s$lower[1, j]); put(paste0(k, "|upper"), s$upper[1, j])
          put(paste0(k, "|n_risk"), s$n.risk[1, 1])
        }
      }
    }
  }
  # event rate per interval after stopping: person-time by survSplit, exact Poisson CI (poisson.test)
  br <- as.numeric(sc$hazard_breaks)
  for (g in c("overall", "stop_reason")) {
    parts <- if (g == "overall") list(all = d) else { dd <- d[known(d[[g]]), ]; split(dd, as.character(dd[[g]])) }
    for (lv in names(parts)) {
      x <- parts[[lv]]
      x$id <- seq_len(nrow(x))
      # zero = -1: times of 0 exist (stop and progression on the same day); the (-1, 0] piece is not counted
      sp <- survSplit(Surv(time, event) ~ id, data = x, cut = br, episode = "interval", start = "tstart", end = "tstop",
                      zero = -1)
      for (i in seq_len(length(br) - 1)) {
        lo <- br[i]; hi <- br[i + 1]
        e <- sp[sp$tstart >= lo & sp$tstop <= hi, ]
        pm <- sum(e$tstop - e$tstart); dn <- sum(e$event)
        ci <- poisson.test(dn, pm)$conf.int
        k <- paste("hazard", g, lv, sprintf("(%s,%s]", fmt(lo), fmt(hi)), sep = "|")
        put(paste0(k, "|n_at_risk_start"), sum(x$time > lo))
        put(paste0(k, "|events"), dn); put(paste0(k, "|person_years"), pm / 12)
        put(paste0(k, "|rate_per_100py"), 1200 * dn / pm)
        put(paste0(k, "|lower_per_100py"), 1200 * ci[1]); put(paste0(k, "|upper_per_100py"), 1200 * ci[2])
      }
    }
  }
}

# ---------------------------------------------------------------------------------------- Table 1
part_table1 <- function() {
  s <- ep[ep$in_stop_cohort, ]
  for (col in inp$table1_continuous) {
    groups <- c(split(s[[col]], s$stop_reason), list(Total = s[[col]]))
    for (g in names(groups)) {
      v <- as.numeric(groups[[g]]); v <- v[!is.na(v)]
      if (!length(v)) next
      q <- quantile(v, c(0.5, 0.25, 0.75), type = 7, names = FALSE)
      k <- paste("table1", col, g, sep = "|")
      put(paste0(k, "|median"), q[1]); put(paste0(k, "|q1"), q[2]); put(paste0(k, "|q3"), q[3])
    }
  }
}

# ---------------------------------------------------------------------------------------- biomarkers
bd <- frame(inp$biomarkers$data)
bcfg <- inp$biomarkers$cfg
specs <- bcfg$markers  # data frame, one row per marker
spec_get <- function(i, key, default = NA) {
  if (!(key %in% names(specs))) return(default)
  v <- specs[[key]][[i]]
  if (is.null(v) || (length(v) == 1 && is.na(v))) default else v
}
transform_x <- function(x, i) {
  tr <- spec_get(i, "transform", "none"); sc <- as.numeric(spec_get(i, "scale", 1))
  x <- as.numeric(x)
  y <- switch(tr, none = x, log = ifelse(x > 0, log(x), NA), log2 = ifelse(x > 0, log2(x), NA),
              log2p1 = ifelse(x > -1, log2(x + 1), NA), log1p = ifelse(x > -1, log1p(x), NA))
  y / sc
}
marker_levels <- function(v, i) {
  # reference first (configured, else most frequent), then the configured order, then the rest sorted
  present <- sort(unique(v))
  ref <- ref_level(v, spec_get(i, "reference", NULL))
  declared <- spec_get(i, "levels", character(0))
  ord <- c(declared[declared %in% present], sort(setdiff(present, declared)))
  c(ref, setdiff(ord, ref))
}
design_of <- function(v, i) {
  # treatment coding of a categorical marker (rows with a known value)
  lv <- marker_levels(v, i)
  X <- sapply(lv[-1], function(l) as.numeric(v == l))
  if (is.null(dim(X))) X <- matrix(X, ncol = length(lv) - 1)
  colnames(X) <- paste0("=", lv[-1])
  list(X = X, levels = lv)
}

part_horizon <- function() {
  hc <- bcfg$horizon
  months <- as.numeric(hc$months)
  hit <- if (hc$event == "progression") bd$cause == 1 else bd$event == 1
  rec <- hit & bd$time <= months
  y <- rep(NA_real_, nrow(bd)); y[rec] <- 1; y[!rec & bd$time >= months] <- 0
  pm <- c(); rows <- list()
  for (i in seq_len(nrow(specs))) {
    m <- specs$name[i]
    x <- bd[[m]]
    ok <- !is.na(y) & !is.na(x)
    if (specs$type[i] == "continuous") {
      xx <- as.numeric(x[ok]); yy <- y[ok]
      if (!sum(ok) || length(unique(yy)) < 2) next
      w <- wilcox.test(xx[yy == 1], xx[yy == 0], exact = FALSE, correct = TRUE)
      k <- paste("horizon", m, "(continuous)", sep = "|")
      put(paste0(k, "|n_level"), sum(ok)); put(paste0(k, "|recurred_level"), sum(yy))
      put(paste0(k, "|median_recurred"), median(xx[yy == 1])); put(paste0(k, "|median_not_recurred"), median(xx[yy == 0]))
      pm[m] <- w$p.value; rows[[m]] <- "(continuous)"
      next
    }
    v <- as.character(x[ok]); yy <- y[ok]
    if (length(unique(v)) < 2) next
    lv <- marker_levels(v, i)
    tab <- t(sapply(lv, function(l) c(sum(v == l & yy == 1), sum(v == l & yy == 0))))
    pm[m] <- fisher.test(tab)$p.value; rows[[m]] <- lv
    if (length(lv) > 2) {
      # Pearson chi-square without continuity correction (the fallback beyond the exact work limit)
      put(paste("horizon_pearson", m, "p_marker", sep = "|"), suppressWarnings(chisq.test(tab, correct = FALSE))$p.value)
    }
    for (j in seq_along(lv)) {
      k <- paste("horizon", m, lv[j], sep = "|")
      put(paste0(k, "|n_level"), sum(tab[j, ])); put(paste0(k, "|recurred_level"), tab[j, 1])
      if (j > 1) {
        f <- fisher.test(rbind(tab[j, ], tab[1, ]), conf.level = bcfg$conf_level)
        put(paste0(k, "|odds_ratio"), f$estimate); put(paste0(k, "|or_ci_low"), f$conf.int[1])
        put(paste0(k, "|or_ci_high"), f$conf.int[2]); put(paste0(k, "|p_level"), f$p.value)
      }
    }
  }
  q <- p.adjust(pm, "BH")
  for (m in names(pm)) {
    for (l in rows[[m]]) {
      put(paste("horizon", m, l, "p_marker", sep = "|"), pm[m]); put(paste("horizon", m, l, "q_marker", sep = "|"), q[m])
    }
  }
}

fit_marker <- function(i) {
  # rows with a known value, design, Cox fit (NULL when the marker is skipped)
  m <- specs$name[i]
  x <- bd[[m]]
  if (specs$type[i] == "continuous") {
    u <- transform_x(x, i); ok <- !is.na(u)
    X <- matrix(u[ok], ncol = 1, dimnames = list(NULL, ""))
    lv <- NULL
  } else {
    ok <- !is.na(x)
    ds <- design_of(as.character(x[ok]), i); X <- ds$X; lv <- ds$levels
    if (length(lv) < 2) return(NULL)
  }
  t <- bd$time[ok]; e <- bd$event[ok]
  if (sum(e) == 0) return(NULL)
  f <- coxph(Surv(t, e) ~ X, ties = "efron", control = CTL)
  list(fit = f, ok = ok, t = t, e = e, X = X, levels = lv, v = if (is.null(lv)) NULL else as.character(x[ok]))
}

part_univariable <- function() {
  pl <- c()
  for (i in seq_len(nrow(specs))) {
    m <- specs$name[i]
    r <- fit_marker(i)
    if (is.null(r)) next
    ct <- cox_table(r$fit)
    k0 <- paste("univariable", m, "(marker)", sep = "|")
    put(paste0(k0, "|n"), sum(r$ok)); put(paste0(k0, "|events"), sum(r$e))
    put(paste0(k0, "|lr_stat"), ct$lrt); put(paste0(k0, "|p_lr"), ct$lrt_p)
    put(paste0(k0, "|wald_stat"), ct$wald); put(paste0(k0, "|p_wald"), ct$wald_p)
    pl[m] <- ct$lrt_p
    if (is.null(r$levels)) {
      unit <- spec_get(i, "unit", "")
      k <- paste("univariable", m, unit, sep = "|")
      put(paste0(k, "|n_level"), sum(r$ok)); put(paste0(k, "|events_level"), sum(r$e))
      put(paste0(k, "|hr"), ct$hr); put(paste0(k, "|hr_ci_low"), ct$lower); put(paste0(k, "|hr_ci_high"), ct$upper)
      put(paste0(k, "|p_level"), ct$p)
      put(paste0(k0, "|p_logrank"), NA)
      next
    }
    sd <- survdiff(Surv(r$t, r$e) ~ r$v)
    put(paste0(k0, "|p_logrank"), survdiff_p(sd))
    ev <- tapply(r$e, r$v, sum)
    for (j in seq_along(r$levels)) {
      l <- r$levels[j]
      k <- paste("univariable", m, l, sep = "|")
      put(paste0(k, "|n_level"), sum(r$v == l)); put(paste0(k, "|events_level"), ev[[l]])
      if (j == 1) next
      if (ev[[l]] == 0 || ev[[r$levels[1]]] == 0) {
        # a level without events: infinite log-HR (monotone likelihood), reported as not estimable
        for (q in c("hr", "hr_ci_low", "hr_ci_high", "p_level")) put(paste0(k, "|", q), NA)
        next
      }
      put(paste0(k, "|hr"), ct$hr[j - 1]); put(paste0(k, "|hr_ci_low"), ct$lower[j - 1])
      put(paste0(k, "|hr_ci_high"), ct$upper[j - 1]); put(paste0(k, "|p_level"), ct$p[j - 1])
    }
  }
  q <- p.adjust(pl, "BH")
  for (m in names(pl)) put(paste("univariable", m, "(marker)", "q_marker", sep = "|"), q[m])
}

mv_design <- function() {
  covs <- bcfg$multivariable$covariates
  idx <- match(covs, specs$name)
  cc <- Reduce(`&`, lapply(covs, function(m) !is.na(bd[[m]])))
  d <- bd[cc, ]
  X <- NULL; terms <- list()
  for (j in seq_along(covs)) {
    i <- idx[j]
    if (specs$type[i] == "continuous") {
      Xi <- matrix(transform_x(d[[covs[j]]], i), ncol = 1, dimnames = list(NULL, covs[j]))
    } else {
      Xi <- design_of(as.character(d[[covs[j]]]), i)$X
      colnames(Xi) <- paste0(covs[j], colnames(Xi))
    }
    terms[[covs[j]]] <- colnames(Xi)
    X <- cbind(X, Xi)
  }
  list(X = X, terms = terms, d = d)
}

part_multivariable <- function() {
  mv <- mv_design()
  X <- mv$X; d <- mv$d
  full <- coxph(Surv(d$time, d$event) ~ X, ties = "efron", control = CTL)
  ct <- cox_table(full)
  for (m in names(mv$terms)) {
    cols <- mv$terms[[m]]
    others <- setdiff(colnames(X), cols)
    red <- if (length(others)) coxph(Surv(d$time, d$event) ~ X[, others, drop = FALSE], ties = "efron", control = CTL)
           else coxph(Surv(d$time, d$event) ~ 1)
    a <- anova(red, full)
    for (cn in cols) {
      j <- match(cn, colnames(X))
      k <- paste("multivariable", cn, sep = "|")
      put(paste0(k, "|hr"), ct$hr[j]); put(paste0(k, "|hr_ci_low"), ct$lower[j]); put(paste0(k, "|hr_ci_high"), ct$upper[j])
      put(paste0(k, "|p_level"), ct$p[j])
      put(paste0(k, "|lr_drop_stat"), a$Chisq[2]); put(paste0(k, "|p_marker_lr"), a[["Pr(>|Chi|)"]][2])
    }
  }
  put("multivariable|(model)|n", full$n); put("multivariable|(model)|events", full$nevent)
  put("multivariable|(model)|model_lr_stat", ct$lrt); put("multivariable|(model)|model_p_lr", ct$lrt_p)
}

# Harrell's default knots (Regression Modeling Strategies 2.4.5, as documented in icistop.stats.splines):
# quantiles .05/.35/.65/.95 for 4 knots (3: .10/.50/.90; 5-6 equally spaced in [.05, .95];
# 7+: [.025, .975]); a value tied in >= 5% of the data at either end (no interior value that
# frequent) becomes the next distinct value as an outer knot; with < 100 values the outer knots
# are the 5th smallest and 5th largest; knots unique.
harrell_knots_r <- function(x, nk, fractied = 0.05) {
  x <- x[!is.na(x)]
  n <- length(x)
  u <- sort(unique(x))
  if (length(u) - 2 <= nk) return(u[2:(length(u) - 1)])
  outer <- if (nk > 6) 0.025 else if (nk > 3) 0.05 else 0.1
  first <- last <- numeric(0); keep <- x; nke <- nk
  freq <- as.numeric(table(x)) / n
  if (max(freq[-c(1, length(freq))]) < fractied) {
    if (freq[1] >= fractied) { first <- min(keep[keep > min(keep)]); keep <- keep[keep > first]; nke <- nke - 1 }
    if (freq[length(freq)] >= fractied) { last <- max(keep[keep < max(keep)]); keep <- keep[keep < last]; nke <- nke - 1 }
  }
  p <- if (nke == 2) seq(0.5, 1 - outer, length.out = nke) else seq(outer, 1 - outer, length.out = nke)
  k <- quantile(keep, p, type = 7, names = FALSE)
  if (length(keep) < 100) {
    s <- sort(keep)
    if (!length(first)) k[1] <- s[5]
    if (!length(last)) k[nke] <- s[length(s) - 4]
  }
  sort(unique(c(first, k, last)))
}
# restricted cubic spline basis (Stone & Koo; Harrell's scaling by (t_k - t_1)^(2/3)), linear term first
rcs_basis_r <- function(x, t) {
  k <- length(t); kd <- (t[k] - t[1])^(2 / 3)
  pp <- function(z) pmax(z / kd, 0)^3
  B <- sapply(seq_len(k - 2), function(j)
    pp(x - t[j]) + ((t[k - 1] - t[j]) * pp(x - t[k]) - (t[k] - t[j]) * pp(x - t[k - 1])) / (t[k] - t[k - 1]))
  cbind(x, matrix(B, nrow = length(x)))
}

part_splines <- function() {
  sp <- bcfg$splines
  for (i in which(specs$type == "continuous")) {
    m <- specs$name[i]
    raw <- as.numeric(bd[[m]]); u <- transform_x(raw, i); ok <- !is.na(u)
    kn <- harrell_knots_r(u[ok], as.integer(sp$knots))
    for (j in seq_along(kn)) put(paste0("splines|", m, "|knot", j - 1), kn[j])
    B <- rcs_basis_r(u[ok], kn)
    t <- bd$time[ok]; e <- bd$event[ok]
    fs <- coxph(Surv(t, e) ~ B, ties = "efron", control = CTL)
    fl <- coxph(Surv(t, e) ~ B[, 1], ties = "efron", control = CTL)
    lr_all <- 2 * diff(fs$loglik); lr_nl <- 2 * (fs$loglik[2] - fl$loglik[2])
    k <- paste("splines", m, sep = "|")
    put(paste0(k, "|n"), sum(ok)); put(paste0(k, "|events"), sum(e))
    put(paste0(k, "|lr_overall"), lr_all); put(paste0(k, "|df_overall"), ncol(B))
    put(paste0(k, "|p_overall"), pchisq(lr_all, ncol(B), lower.tail = FALSE))
    put(paste0(k, "|lr_nonlinear"), lr_nl); put(paste0(k, "|df_nonlinear"), ncol(B) - 1)
    put(paste0(k, "|p_nonlinear"), pchisq(lr_nl, ncol(B) - 1, lower.tail = FALSE))
    ref <- if (identical(sp$reference, "median")) median(raw[ok]) else as.numeric(sp$reference)
    put(paste0(k, "|reference_value"), ref)
    # HR(x) vs the reference value with pointwise delta-method CI on a grid between the 5th and 95th
    # percentiles (plus the reference value)
    lim <- if (sum(ok) >= 20) quantile(raw[ok], c(0.05, 0.95), type = 7, names = FALSE) else range(raw[ok])
    grid <- sort(unique(c(seq(lim[1], lim[2], length.out = as.integer(sp$grid_points)), ref)))
    D <- rcs_basis_r(transform_x(grid, i), kn) - matrix(rcs_basis_r(transform_x(ref, i), kn), nrow = length(grid),
                                                         ncol = ncol(B), byrow = TRUE)
    lp <- drop(D %*% coef(fs)); se <- sqrt(pmax(rowSums((D %*% vcov(fs)) * D), 0))
    for (g in seq_along(grid)) {
      kk <- paste("spline_curve", m, g - 1, sep = "|")
      put(paste0(kk, "|value"), grid[g]); put(paste0(kk, "|hr"), exp(lp[g]))
      put(paste0(kk, "|hr_ci_low"), exp(lp[g] - Z975 * se[g])); put(paste0(kk, "|hr_ci_high"), exp(lp[g] + Z975 * se[g]))
    }
  }
}

part_cutpoints <- function() {
  cp <- bcfg$cutpoint
  for (i in which(specs$type == "continuous")) {
    m <- specs$name[i]
    x <- as.numeric(bd[[m]]); ok <- !is.na(x)
    d <- data.frame(x = x[ok], time = bd$time[ok], event = bd$event[ok])
    r94 <- maxstat::maxstat.test(Surv(time, event) ~ x, data = d, smethod = "LogRank", pmethod = "Lau94",
                                 minprop = cp$minprop, maxprop = cp$maxprop)
    r92 <- maxstat::maxstat.test(Surv(time, event) ~ x, data = d, smethod = "LogRank", pmethod = "Lau92",
                                 minprop = cp$minprop, maxprop = cp$maxprop)
    high <- as.numeric(d$x > r94$estimate)
    f <- coxph(Surv(time, event) ~ high, data = d, ties = "efron", control = CTL)
    ct <- cox_table(f)
    k <- paste("cutpoint", m, sep = "|")
    put(paste0(k, "|n"), nrow(d)); put(paste0(k, "|events"), sum(d$event))
    put(paste0(k, "|cutpoint"), r94$estimate); put(paste0(k, "|n_high"), sum(high))
    put(paste0(k, "|statistic"), r94$statistic)
    put(paste0(k, "|p_lau94"), min(1, r94$p.value)); put(paste0(k, "|p_lau92"), min(1, r92$p.value))
    put(paste0(k, "|hr_high_vs_low"), ct$hr); put(paste0(k, "|hr_ci_low"), ct$lower)
    put(paste0(k, "|hr_ci_high"), ct$upper)
  }
}

part_cif_marker <- function() {
  # Aalen-Johansen CIF of progression / death without progression by level of the top-k categorical
  # markers (smallest BH q of the univariable Cox LR test, then p, then name)
  times <- as.numeric(bcfg$competing_risks$times)
  pl <- sapply(seq_len(nrow(specs)), function(i) { r <- fit_marker(i); if (is.null(r)) NA else cox_table(r$fit)$lrt_p })
  q <- p.adjust(pl, "BH")
  cand <- which(specs$type != "continuous" & !is.na(pl))
  top <- cand[order(q[cand], pl[cand], specs$name[cand])]
  top <- top[seq_len(min(length(top), as.integer(bcfg$competing_risks$top_k)))]
  for (i in top) {
    m <- specs$name[i]
    x <- bd[[m]]; ok <- !is.na(x)
    d <- data.frame(level = as.character(x[ok]), time = bd$time[ok], cause = bd$cause[ok])
    for (lv in sort(unique(d$level))) {
      dl <- d[d$level == lv, ]
      dl$st <- factor(dl$cause, levels = c(0, 1, 2))
      f <- survfit(Surv(time, st) ~ 1, data = dl)
      for (tt in times) {
        k <- paste("cif_marker", m, lv, fmt(tt), sep = "|")
        put(paste0(k, "|n"), nrow(dl)); put(paste0(k, "|progressions"), sum(dl$cause == 1))
        put(paste0(k, "|deaths"), sum(dl$cause == 2))
        vals <- if (tt > max(f$time)) NULL else summary(f, times = tt)
        for (cz in c("1", "2")) {
          nm <- if (cz == "1") "cif_progression" else "cif_death"
          j <- if (is.null(vals)) NA else match(cz, vals$states)
          put(paste0(k, "|", nm), if (is.null(vals)) NA else vals$pstate[1, j])
          put(paste0(k, "|", nm, "_low"), if (is.null(vals)) NA else vals$lower[1, j])
          put(paste0(k, "|", nm, "_high"), if (is.null(vals)) NA else vals$upper[1, j])
        }
      }
    }
  }
}

# IPCW cumulative/dynamic AUC(t) as the icistop.stats.discrimination docstring defines it: cases T <= t with an
# event, weighted 1 / G(T-) (G: Kaplan-Meier of the censoring times, censorings at T not yet counted),
# controls T > t (common weight 1 / G(t), which cancels); score ties count 1/2.
auc_ipcw_r <- function(time, event, score, t) {
  cases <- time <= t & event == 1; controls <- time > t
  if (!any(cases) || !any(controls)) return(NA_real_)
  g <- survfit(Surv(time, 1 - event) ~ 1)
  G_minus <- sapply(time[cases], function(u) { j <- which(g$time < u); if (length(j)) g$surv[max(j)] else 1 })
  w <- 1 / G_minus
  sc <- score[controls]
  num <- sum(w * sapply(score[cases], function(s) sum(s > sc) + 0.5 * sum(s == sc)))
  num / (sum(w) * sum(controls))
}
harrell_c_r <- function(time, event, score) {
  concordance(Surv(time, event) ~ score, reverse = TRUE)$concordance
}

part_discrimination <- function() {
  dc <- bcfg$discrimination
  t <- as.numeric(dc$horizon_months)
  mv <- mv_design()
  X <- mv$X[, apply(mv$X, 2, function(c) length(unique(c)) > 1), drop = FALSE]
  d <- mv$d
  fitX <- function(Xb, tb, eb) {
    if (sum(eb) == 0) return(NULL)
    if (any(apply(Xb, 2, function(c) length(unique(c)) < 2))) return(NULL)
    coef(coxph(Surv(tb, eb) ~ Xb, ties = "efron", control = CTL))
  }
  evaluate <- function(b, Xe, te, ee) {
    lp <- drop(Xe %*% b)
    c(harrell_c = harrell_c_r(te, ee, lp), auc = auc_ipcw_r(te, ee, lp, t))
  }
  b0 <- fitX(X, d$time, d$event)
  app <- evaluate(b0, X, d$time, d$event)
  idx <- inp$biomarkers$boot_index
  diffs <- list(harrell_c = c(), auc = c())
  for (r in seq_len(nrow(idx))) {
    ii <- idx[r, ] + 1
    bb <- fitX(X[ii, , drop = FALSE], d$time[ii], d$event[ii])
    if (is.null(bb)) next
    ab <- evaluate(bb, X[ii, , drop = FALSE], d$time[ii], d$event[ii])
    tb <- evaluate(bb, X, d$time, d$event)
    for (nm in names(diffs)) if (is.finite(ab[nm]) && is.finite(tb[nm])) diffs[[nm]] <- c(diffs[[nm]], ab[nm] - tb[nm])
  }
  for (nm in names(diffs)) {
    key <- if (nm == "auc") paste0("auc_", fmt(t)) else nm
    k <- paste("discrimination", key, sep = "|")
    opt <- mean(diffs[[nm]])
    put(paste0(k, "|apparent"), app[nm]); put(paste0(k, "|optimism"), opt); put(paste0(k, "|corrected"), app[nm] - opt)
    put(paste0(k, "|n_boot_used"), length(diffs[[nm]])); put(paste0(k, "|n"), nrow(d))
  }
  # calibration: predicted risk 1 - exp(-H0(t) exp(lp - mean lp)) with the Breslow baseline hazard
  # (survfit.coxph, ctype = 1), groups of equal size by rank (ties by position), observed 1 - KM(t)
  fit <- coxph(Surv(time, event) ~ X, data = d, ties = "efron", control = CTL)
  sf <- survfit(fit, newdata = list(X = X), ctype = 1, stype = 2)
  risk <- 1 - drop(summary(sf, times = t)$surv)
  # the same by the closed formula
  lp <- drop(X %*% coef(fit)); r <- exp(lp - mean(lp))
  ut <- sort(unique(d$time[d$event == 1 & d$time <= t]))
  h0 <- sum(sapply(ut, function(u) sum(d$event[d$time == u]) / sum(r[d$time >= u])))
  stopifnot(max(abs(risk - (1 - exp(-h0 * r)))) < 1e-12)
  ng <- as.integer(dc$calibration_groups)
  grp <- ceiling(rank(risk, ties.method = "first") * ng / length(risk))
  for (g in seq_len(ng)) {
    s <- grp == g
    k <- paste("calibration", g, sep = "|")
    put(paste0(k, "|n"), sum(s)); put(paste0(k, "|events"), sum(d$event[s]))
    put(paste0(k, "|predicted_min"), min(risk[s])); put(paste0(k, "|predicted_max"), max(risk[s]))
    put(paste0(k, "|predicted_mean"), mean(risk[s]))
    km <- survfit(Surv(d$time[s], d$event[s]) ~ 1, conf.type = "log-log")
    a <- surv_at(km, t)
    put(paste0(k, "|observed"), 1 - a$surv); put(paste0(k, "|observed_lower"), 1 - a$upper)
    put(paste0(k, "|observed_upper"), 1 - a$lower)
  }
}

part_rechallenge <- function() {
  sets <- list(example = ep, synthetic = frame(inp$rechallenge_synthetic))
  rate_t <- as.numeric(bcfg$rechallenge$rate_months)
  for (nm in names(sets)) {
    e <- sets[[nm]]
    e <- e[as.logical(e$in_stop_cohort), ]
    prog <- e[!is.na(e$stop_pfs_cause) & e$stop_pfs_cause == 1, ]
    r <- prog[!is.na(prog$has_rechallenge) & as.logical(prog$has_rechallenge), ]
    resp <- r$rechallenge_best_response
    resp <- ifelse(is.na(resp) | resp == "", "unknown", resp)
    for (lv in unique(c("CR", "PR", "SD", "PD", resp))) {
      n <- sum(resp == lv)
      if (!(lv %in% c("CR", "PR", "SD", "PD")) && n == 0) next
      put(paste("rechallenge", nm, lv, "n", sep = "|"), n)
      put(paste("rechallenge", nm, lv, "pct", sep = "|"), 100 * n / nrow(r))
    }
    ev <- resp %in% c("CR", "PR", "SD", "PD"); k <- sum(resp %in% c("CR", "PR"))
    if (nrow(r) && sum(ev)) {
      ci <- binom.test(k, sum(ev), conf.level = bcfg$conf_level)$conf.int
      base <- paste("rechallenge", nm, "objective response (CR+PR) among evaluable", sep = "|")
      put(paste0(base, "|n"), k); put(paste0(base, "|pct"), 100 * k / sum(ev))
      put(paste0(base, "|pct_ci_low"), 100 * ci[1]); put(paste0(base, "|pct_ci_high"), 100 * ci[2])
    }
    base <- paste("rechallenge", nm, "pfs", sep = "|")
    t <- as.numeric(r$rechallenge_pfs_time); ev2 <- as.numeric(r$rechallenge_pfs_event)
    ok <- !is.na(t) & !is.na(ev2)
    put(paste0(base, "|n_rechallenged"), nrow(r)); put(paste0(base, "|n"), sum(ok))
    put(paste0(base, "|events"), sum(ev2[ok]))
    f <- survfit(Surv(t[ok], ev2[ok]) ~ 1, conf.type = "log-log")
    tb <- summary(f)$table
    put(paste0(base, "|median"), tb["median"]); put(paste0(base, "|median_ci_low"), tb["0.95LCL"])
    put(paste0(base, "|median_ci_high"), tb["0.95UCL"])
    a <- surv_at(f, rate_t)
    put(paste0(base, "|rate"), a$surv); put(paste0(base, "|rate_ci_low"), a$lower)
    put(paste0(base, "|rate_ci_high"), a$upper)
  }
}

# ---------------------------------------------------------------------------------------- continuation
km_h <- function(t, e, h) {
  # KM at h with the Greenwood SE (NA after the end of follow-up unless S has reached 0)
  f <- survfit(Surv(t, e) ~ 1)
  if (h > max(t)) return(c(NA, NA))
  s <- summary(f, times = h)
  c(s$surv, s$std.err)
}
part_continuation <- function() {
  for (o in names(inp$continuation)) {
    ci <- inp$continuation[[o]]
    nv <- ci$naive
    f <- coxph(Surv(nv$time, nv$event) ~ nv$continued, ties = "efron", control = CTL)
    put(paste("naive", o, "loghr", sep = "|"), coef(f)); put(paste("naive", o, "se_loghr", sep = "|"), sqrt(vcov(f)))
    for (h in ci$horizons) {
      a <- km_h(nv$time[nv$continued == 0], nv$event[nv$continued == 0], ci$landmark + h)
      b <- km_h(nv$time[nv$continued == 1], nv$event[nv$continued == 1], ci$landmark + h)
      put(paste("naive", o, paste0("surv_stop_", fmt(h)), sep = "|"), a[1])
      put(paste("naive", o, paste0("surv_cont_", fmt(h)), sep = "|"), b[1])
      put(paste("naive", o, paste0("diff_", fmt(h)), sep = "|"), b[1] - a[1])
      put(paste("naive", o, paste0("se_diff_", fmt(h)), sep = "|"), sqrt(a[2]^2 + b[2]^2))
    }
    for (j in seq_len(nrow(ci$landmarks))) {
      L <- ci$landmarks$L[j]
      t <- ci$landmarks$time[[j]]; e <- ci$landmarks$event[[j]]; on <- ci$landmarks$on[[j]]
      Z <- ci$landmarks$Z[[j]]
      key <- function(q) paste("landmark", o, fmt(L), q, sep = "|")
      fu <- coxph(Surv(t, e) ~ on, ties = "efron", control = CTL)
      fa <- coxph(Surv(t, e) ~ on + Z, ties = "efron", control = CTL)
      put(key("loghr_unadj"), coef(fu)); put(key("se_loghr_unadj"), sqrt(vcov(fu)[1, 1]))
      put(key("loghr"), coef(fa)[1]); put(key("se_loghr"), sqrt(vcov(fa)[1, 1]))
      for (h in ci$horizons) {
        a <- km_h(t[on == 0], e[on == 0], h); b <- km_h(t[on == 1], e[on == 1], h)
        put(key(paste0("surv_off_", fmt(h))), a[1]); put(key(paste0("surv_on_", fmt(h))), b[1])
        put(key(paste0("diff_", fmt(h))), b[1] - a[1]); put(key(paste0("se_diff_", fmt(h))), sqrt(a[2]^2 + b[2]^2))
      }
    }
    if (!is.null(ci$timevarying)) {
      tv <- ci$timevarying
      f <- coxph(Surv(tv$start, tv$stop, tv$event) ~ tv$X, ties = "efron", control = CTL)
      se <- sqrt(diag(vcov(f)))
      for (j in seq_along(tv$terms)) {
        k <- paste("timevarying", o, tv$terms[j], sep = "|")
        put(paste0(k, "|coef"), coef(f)[j]); put(paste0(k, "|se"), se[j])
        put(paste0(k, "|hr_lower"), exp(coef(f)[j] - 1.96 * se[j]))
        put(paste0(k, "|hr_upper"), exp(coef(f)[j] + 1.96 * se[j]))
      }
      dm <- ci$deviation_model
      g <- glm(dm$y ~ dm$X - 1, family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100))
      for (j in seq_along(coef(g))) {
        put(paste("deviation_model", o, "glm", j - 1, sep = "|"), coef(g)[j])
        put(paste("deviation_model", o, "ridge", j - 1, sep = "|"), coef(g)[j])
      }
    }
  }
}

part_ccw <- function() {
  cw <- inp$ccw
  rows <- frame(cw$rows)
  tau <- as.numeric(cw$tau); grid <- as.numeric(cw$grid)
  for (arm in c(0, 1)) {
    a <- rows[rows$arm == arm, ]
    lab <- c("A", "B")[arm + 1]
    # pointwise CI with the clustered (robust, infinitesimal-jackknife) SE, log-log
    f <- survfit(Surv(start, stop, event) ~ 1, data = a, weights = weight, id = pid, robust = TRUE,
                 conf.type = "log-log")
    s <- summary(f, times = grid[grid > 0 & grid <= max(a$stop)], extend = FALSE)
    for (i in seq_along(grid)) {
      k <- paste("ccw_km", lab, fmt(grid[i]), sep = "|")
      if (grid[i] == 0) {
        put(paste0(k, "|surv"), 1); put(paste0(k, "|se"), 0); put(paste0(k, "|lower"), NA); put(paste0(k, "|upper"), NA)
        next
      }
      j <- match(grid[i], s$time)
      if (is.na(j)) {
        for (q in c("surv", "se", "lower", "upper")) put(paste0(k, "|", q), NA)
        next
      }
      put(paste0(k, "|surv"), s$surv[j]); put(paste0(k, "|se"), s$std.err[j])
      put(paste0(k, "|lower"), s$lower[j]); put(paste0(k, "|upper"), s$upper[j])
    }
    # RMST: area under the weighted KM step function up to tau
    f0 <- survfit(Surv(start, stop, event) ~ 1, data = a, weights = weight)
    tt <- f0$time[f0$time < tau & f0$n.event > 0]; ss <- f0$surv[f0$time < tau & f0$n.event > 0]
    put(paste("ccw_rmst", lab, fmt(tau), sep = "|"), sum(diff(c(0, tt, tau)) * c(1, ss)))
    # weight diagnostics per interval start: mean, SD (population), quantiles (type 7), ESS
    for (st in sort(unique(a$start))) {
      w <- a$weight[a$start == st]
      k <- paste("ccw_weights", lab, fmt(st), sep = "|")
      put(paste0(k, "|n_clones"), length(w)); put(paste0(k, "|mean"), mean(w))
      put(paste0(k, "|sd"), sqrt(mean((w - mean(w))^2))); put(paste0(k, "|min"), min(w)); put(paste0(k, "|max"), max(w))
      q <- quantile(w, c(0.01, 0.5, 0.99), type = 7, names = FALSE)
      put(paste0(k, "|p01"), q[1]); put(paste0(k, "|median"), q[2]); put(paste0(k, "|p99"), q[3])
      put(paste0(k, "|ess"), sum(w)^2 / sum(w^2))
    }
  }
}

# bootstrap confidence intervals of the continuation tables (icistop.stats.intervals, documented there):
# transformed-scale Wald with the bootstrap SD (cloglog for probabilities, atanh for differences, log for
# ratios / HRs with the SD of the log replicates, identity otherwise; delta method) and percentile (type 7)
part_intervals <- function() {
  cs <- inp$intervals
  for (j in seq_len(nrow(cs))) {
    key <- cs$estimand[j]; est <- cs$estimate[j]; b <- as.numeric(cs$replicates[[j]]); b <- b[is.finite(b)]
    scale <- if (grepl("^surv_", key)) "cloglog" else if (grepl("^diff_", key)) "atanh"
             else if (grepl("^ratio_", key) || key == "hr") "log" else "identity"
    se <- if (scale == "log") sd(log(b[b > 0])) else sd(b)
    lim <- switch(scale,
      identity = est + c(-1, 1) * Z975 * se,
      log = exp(log(est) + c(-1, 1) * Z975 * se),
      cloglog = { s <- se / (est * abs(log(est))); est^exp(c(1, -1) * Z975 * s) },
      atanh = { s <- se / (1 - est^2); tanh(atanh(est) + c(-1, 1) * Z975 * s) })
    pc <- quantile(b, c(0.025, 0.975), type = 7, names = FALSE)
    for (m in c("transformed_wald", "percentile")) {
      v <- if (m == "percentile") pc else lim
      put(paste("interval", key, m, "lower", sep = "|"), v[1]); put(paste("interval", key, m, "upper", sep = "|"), v[2])
      put(paste("interval", key, m, "se", sep = "|"), se)
    }
  }
}

PARTS <- list(survival = part_survival, table1 = part_table1, horizon = part_horizon, univariable = part_univariable,
              multivariable = part_multivariable, splines = part_splines, cutpoints = part_cutpoints,
              cif_marker = part_cif_marker, discrimination = part_discrimination, rechallenge = part_rechallenge,
              continuation = part_continuation, ccw = part_ccw,
              intervals = part_intervals)
has_maxstat <- requireNamespace("maxstat", quietly = TRUE)
out <- list(r_version = R.version.string, survival_version = as.character(packageVersion("survival")),
            maxstat_version = if (has_maxstat) as.character(packageVersion("maxstat")) else NA, parts = list())
for (p in names(PARTS)) {
  if (length(only) && !(p %in% only)) next
  if (p == "cutpoints" && !has_maxstat) next  # the test skips this part (fails in CI)
  rm(list = ls(acc), envir = acc)
  PARTS[[p]]()
  keys <- sort(ls(acc))
  out$parts[[p]] <- setNames(lapply(keys, function(k) get(k, envir = acc)), keys)
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", null = "null"), args[2])
