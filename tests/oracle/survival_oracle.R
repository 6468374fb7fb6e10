# R `survival` oracle for icistop's survival engine (km, logrank, coxph, rmst, cif).
# Usage (repository root):
#   Rscript tests/oracle/survival_oracle.R [fixtures_dir [out_dir [case ...]]]
# Reads fixtures_dir/cases.json and the CSV inputs named there, writes out_dir/<case>.json with full
# (17 significant digit) precision. Non-finite numbers are written as the strings "NA", "NaN", "Inf".
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = TRUE)
fixtures <- if (length(args) >= 1) args[1] else "tests/fixtures/oracle"
outdir <- if (length(args) >= 2) args[2] else fixtures
only <- if (length(args) >= 3) args[-(1:2)] else character(0)
manifest <- fromJSON(file.path(fixtures, "cases.json"), simplifyVector = FALSE)

num <- function(x) {
  x <- as.numeric(x)
  txt <- ifelse(is.finite(x), sprintf("%.17g", x),
                ifelse(is.nan(x), "\"NaN\"", ifelse(is.na(x), "\"NA\"", ifelse(x > 0, "\"Inf\"", "\"-Inf\""))))
  structure(paste0("[", paste(txt, collapse = ","), "]"), class = "json")
}

samstein_path <- function() {
  cands <- c(Sys.getenv("ICISTOP_SAMSTEIN_TSV"),
             "/work/shared/data/raw/samstein2019_tmb_mskcc_2018/tmb_mskcc_2018_clinical_data.tsv")
  cands <- cands[nzchar(cands) & file.exists(cands)]
  if (length(cands)) cands[1] else NA_character_
}

load_case <- function(spec) {
  if (spec$data == "samstein_raw") {
    raw <- samstein_path()
    if (is.na(raw)) {
      # derived subset committed with an ODbL attribution (README.md)
      d <- read.csv(file.path(fixtures, "samstein_crc.csv"), stringsAsFactors = FALSE)
      d$source <- "derived_csv"
      return(d)
    }
    r <- read.delim(raw, check.names = FALSE, stringsAsFactors = FALSE, na.strings = c("NA", ""))
    r <- r[r[["Cancer Type"]] == "Colorectal Cancer", ]
    d <- data.frame(patient_id = r[["Patient ID"]], os_months = r[["Overall Survival (Months)"]],
                    os_status = as.integer(r[["Overall Survival Status"]] == "1:DECEASED"),
                    tmb = r[["TMB Score"]], drug_type = r[["Drug Type"]], stringsAsFactors = FALSE)
    d$log2_tmb1 <- log2(d$tmb + 1)
    d$source <- "raw_tsv"
    return(d)
  }
  read.csv(file.path(fixtures, spec$data), stringsAsFactors = FALSE)
}

surv_obj <- function(d, time, event, entry = NULL) {
  if (is.null(entry)) Surv(d[[time]], d[[event]]) else Surv(d[[entry]], d[[time]], d[[event]])
}

# split a (possibly stratified) survfit into per-group pieces; label "all" without strata
group_index <- function(fit) {
  if (is.null(fit$strata)) return(list(all = seq_along(fit$time)))
  lab <- sub("^[^=]*=", "", names(fit$strata))
  idx <- rep(seq_along(fit$strata), fit$strata)
  setNames(lapply(seq_along(fit$strata), function(i) which(idx == i)), lab)
}

km_out <- function(fit) {
  gi <- group_index(fit)
  logse <- isTRUE(fit$logse)
  lapply(names(gi), function(g) {
    i <- gi[[g]]
    s <- fit$surv[i]; se <- fit$std.err[i]
    list(group = g, time = num(fit$time[i]), n_risk = num(fit$n.risk[i]), n_event = num(fit$n.event[i]),
         n_censor = num(fit$n.censor[i]), surv = num(s),
         se_surv = num(if (logse) se * s else se), se_log_surv = num(if (logse) se else se / s),
         lower = num(fit$lower[i]), upper = num(fit$upper[i]), logse = logse)
  })
}

table_out <- function(fit, tau = NULL) {
  tab <- summary(fit)$table
  if (is.null(dim(tab))) tab <- t(as.matrix(tab))
  labs <- if (is.null(fit$strata)) "all" else sub("^[^=]*=", "", names(fit$strata))
  res <- list(group = labs, median = num(tab[, "median"]), lower = num(tab[, "0.95LCL"]),
              upper = num(tab[, "0.95UCL"]), n_max = num(tab[, "n.max"]), events = num(tab[, "events"]))
  q <- quantile(fit, probs = c(0.25, 0.5, 0.75))
  qm <- function(x) if (is.null(dim(x))) t(as.matrix(x)) else x
  res$quantile <- list(probs = num(c(0.25, 0.5, 0.75)),
                       q25 = num(qm(q$quantile)[, 1]), q50 = num(qm(q$quantile)[, 2]), q75 = num(qm(q$quantile)[, 3]),
                       lower25 = num(qm(q$lower)[, 1]), lower50 = num(qm(q$lower)[, 2]), lower75 = num(qm(q$lower)[, 3]),
                       upper25 = num(qm(q$upper)[, 1]), upper50 = num(qm(q$upper)[, 2]), upper75 = num(qm(q$upper)[, 3]))
  res$rmst <- lapply(tau, function(tt) {
    tb <- summary(fit, rmean = tt)$table
    if (is.null(dim(tb))) tb <- t(as.matrix(tb))
    list(tau = tt, rmst = num(tb[, "rmean"]), se = num(tb[, "se(rmean)"]))
  })
  res
}

landmarks_out <- function(fit, times) {
  # per curve: summary(times=) keeps times <= the curve's last time (R errors when none remain)
  gi <- group_index(fit)
  parts <- lapply(seq_along(gi), function(k) {
    f <- if (is.null(fit$strata)) fit else fit[k]
    tt <- times[times <= max(f$time)]
    if (!length(tt)) return(NULL)
    s <- summary(f, times = tt)
    data.frame(group = names(gi)[k], time = s$time, surv = s$surv, se_surv = s$std.err, lower = s$lower,
               upper = s$upper, n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor)
  })
  x <- do.call(rbind, parts)
  list(group = x$group, time = num(x$time), surv = num(x$surv), se_surv = num(x$se_surv), lower = num(x$lower),
       upper = num(x$upper), n_risk = num(x$n_risk), n_event = num(x$n_event), n_censor = num(x$n_censor))
}

cox_out <- function(d, spec, m, time, event, entry, weights) {
  cov <- unlist(m$covariates)
  cats <- if (is.null(m$categorical)) list() else m$categorical
  for (v in names(cats)) {
    lv <- sort(unique(as.character(d[[v]])))
    ref <- cats[[v]]
    d[[v]] <- factor(as.character(d[[v]]), levels = c(ref, setdiff(lv, ref)))
  }
  rhs <- paste(sprintf("`%s`", cov), collapse = " + ")
  if (!is.null(m$strata)) rhs <- paste0(rhs, " + strata(`", m$strata, "`)")
  lhs <- if (is.null(entry)) sprintf("Surv(`%s`, `%s`)", time, event) else sprintf("Surv(`%s`, `%s`, `%s`)", entry, time, event)
  f <- as.formula(paste(lhs, "~", rhs))
  d$.w <- if (is.null(weights) || isTRUE(m$unweighted)) 1 else d[[weights]]
  ctl <- coxph.control(eps = 1e-12, iter.max = 100, toler.chol = .Machine$double.eps^0.9)
  fit <- if (!is.null(m$cluster)) {
    d$.cl <- d[[m$cluster]]
    coxph(f, data = d, weights = .w, ties = "efron", cluster = .cl, control = ctl)
  } else coxph(f, data = d, weights = .w, ties = "efron", control = ctl)
  fit_default <- if (!is.null(m$cluster)) coxph(f, data = d, weights = .w, ties = "efron", cluster = .cl)
                 else coxph(f, data = d, weights = .w, ties = "efron")
  nm <- names(coef(fit))
  for (v in names(cats)) {
    for (lv in levels(d[[v]])[-1]) nm[nm == paste0("`", v, "`", lv) | nm == paste0(v, lv)] <- paste0(v, "=", lv)
  }
  nm <- gsub("`", "", nm)
  robust <- !is.null(fit$naive.var)
  vmodel <- if (robust) fit$naive.var else fit$var
  list(name = m$name, term = nm, coef = num(coef(fit)), se = num(sqrt(diag(vmodel))),
       se_robust = num(if (robust) sqrt(diag(fit$var)) else rep(NA, length(nm))),
       loglik = num(fit$loglik), n = fit$n, nevent = fit$nevent, iter = fit$iter,
       coef_default_control = num(coef(fit_default)),
       se_default_control = num(sqrt(diag(if (robust) fit_default$naive.var else fit_default$var))))
}

# HRs within time intervals (episode splitting), the PH fallback of icistop.coxph.time_split_hr
time_split_out <- function(d, m, time, event) {
  cats <- if (is.null(m$categorical)) list() else m$categorical
  X <- data.frame(.T = d[[time]], .E = d[[event]])
  split_cols <- character(0)
  for (v in unlist(m$covariates)) {
    if (v %in% names(cats)) {
      lv <- sort(unique(as.character(d[[v]])))
      for (l in setdiff(lv, cats[[v]])) {
        X[[paste0(v, "=", l)]] <- as.numeric(as.character(d[[v]]) == l)
        if (v %in% unlist(m$split_terms)) split_cols <- c(split_cols, paste0(v, "=", l))
      }
    } else {
      X[[v]] <- as.numeric(d[[v]])
      if (v %in% unlist(m$split_terms)) split_cols <- c(split_cols, v)
    }
  }
  ep <- survSplit(Surv(.T, .E) ~ ., data = X, cut = unlist(m$cuts), episode = ".interval", start = ".start")
  ncut <- length(unlist(m$cuts))
  for (cc in split_cols) {
    for (k in 0:ncut) ep[[paste0(cc, "@", k)]] <- ep[[cc]] * (ep$.interval == k + 1)
    ep[[cc]] <- NULL
  }
  cols <- setdiff(names(ep), c(".T", ".E", ".start", ".interval"))
  cols <- cols[sapply(cols, function(cc) any(ep[[cc]] != 0))]
  f <- as.formula(paste("Surv(.start, .T, .E) ~", paste(sprintf("`%s`", cols), collapse = " + ")))
  fit <- coxph(f, data = ep, ties = "efron", control = coxph.control(eps = 1e-12, iter.max = 100, toler.chol = .Machine$double.eps^0.9))
  nm <- gsub("`", "", names(coef(fit)))
  keep <- grepl("@", nm)
  list(name = m$name, term = nm[keep], coef = num(coef(fit)[keep]), se = num(sqrt(diag(fit$var))[keep]))
}

run_case <- function(name, spec) {
  d <- load_case(spec)
  time <- spec$time; event <- spec$event; entry <- spec$entry; weights <- spec$weights
  out <- list(case = name, r_version = R.version.string, survival_version = as.character(packageVersion("survival")))
  if (!is.null(d$source)) out$data_source <- d$source[1]
  d$.T <- d[[time]]; d$.E <- d[[event]]
  y <- surv_obj(d, time, event, entry)
  w <- if (is.null(weights)) rep(1, nrow(d)) else d[[weights]]
  d$.w <- w
  fits <- list(all = survfit(y ~ 1, weights = w, conf.type = "log-log"))
  if (!is.null(spec$group)) {
    d$.g <- as.character(d[[spec$group]])
    fits$group <- survfit(y ~ .g, data = d, weights = .w, conf.type = "log-log")
  }
  tau <- if (is.null(spec$tau)) list() else spec$tau
  for (k in names(fits)) {
    out[[paste0("km_", k)]] <- km_out(fits[[k]])
    out[[paste0("table_", k)]] <- table_out(fits[[k]], unlist(tau))
    if (!is.null(spec$landmarks)) out[[paste0("landmarks_", k)]] <- landmarks_out(fits[[k]], unlist(spec$landmarks))
  }
  if (!is.null(spec$km_cluster)) {
    d$.cl <- d[[spec$km_cluster]]
    fc <- survfit(y ~ .g, data = d, weights = .w, cluster = .cl, conf.type = "log-log")
    out$km_cluster <- km_out(fc)
  }
  if (!is.null(spec$group) && is.null(entry) && is.null(weights)) {
    sd <- survdiff(Surv(.T, .E) ~ .g, data = d)
    out$logrank <- list(group = sub("^[^=]*=", "", names(sd$n)), chisq = num(sd$chisq), observed = num(sd$obs),
                        expected = num(sd$exp), var = num(sd$var))
    if (!is.null(spec$strata)) {
      d$.s <- d[[spec$strata]]
      ss <- survdiff(Surv(.T, .E) ~ .g + strata(.s), data = d)
      out$logrank_stratified <- list(group = sub("^[^=]*=", "", names(ss$n)), chisq = num(ss$chisq),
                                     observed = num(rowSums(ss$obs)), expected = num(rowSums(ss$exp)))
    }
  }
  if (isTRUE(spec$reverse_km)) {
    d$.rev <- 1 - d$.E
    rf <- list(all = survfit(Surv(.T, .rev) ~ 1, data = d, conf.type = "log-log"))
    if (!is.null(spec$group)) rf$group <- survfit(Surv(.T, .rev) ~ .g, data = d, conf.type = "log-log")
    out$reverse_km <- lapply(rf, function(f) table_out(f)$quantile)
    out$reverse_km_groups <- lapply(rf, function(f) if (is.null(f$strata)) "all" else sub("^[^=]*=", "", names(f$strata)))
  }
  if (!is.null(spec$cox)) out$cox <- lapply(spec$cox, function(m) cox_out(d, spec, m, time, event, entry, weights))
  if (!is.null(spec$time_split)) out$time_split <- lapply(spec$time_split, function(m) time_split_out(d, m, time, event))
  if (!is.null(spec$competing)) {
    cr <- spec$competing
    d$.CT <- d[[cr$time]]
    d$.CS <- factor(d[[cr$status]], levels = sort(unique(d[[cr$status]])))
    st <- d$.CS
    cfits <- list(all = survfit(Surv(.CT, .CS) ~ 1, data = d))
    if (!is.null(spec$group)) cfits$group <- survfit(Surv(.CT, .CS) ~ .g, data = d)
    out$cif <- lapply(cfits, function(f) {
      gi <- group_index(f)
      states <- f$states
      lapply(names(gi), function(g) {
        i <- gi[[g]]
        res <- list(group = g, time = num(f$time[i]), n_risk = num(f$n.risk[i, 1]), states = states)
        for (k in seq_along(states)) {
          res[[paste0("pstate_", states[k])]] <- num(f$pstate[i, k])
          res[[paste0("se_", states[k])]] <- num(f$std.err[i, k])
        }
        res
      })
    })
    if (!is.null(cr$landmarks)) {
      out$cif_landmarks <- lapply(cfits, function(f) {
        gi <- group_index(f)
        parts <- lapply(seq_along(gi), function(k) {
          fk <- if (is.null(f$strata)) f else f[k, ]
          tt <- unlist(cr$landmarks)
          tt <- tt[tt <= max(fk$time)]
          if (!length(tt)) return(NULL)
          s <- summary(fk, times = tt)
          x <- data.frame(group = names(gi)[k], time = s$time)
          for (j in seq_along(f$states)) {
            x[[paste0("pstate_", f$states[j])]] <- s$pstate[, j]
            x[[paste0("se_", f$states[j])]] <- s$std.err[, j]
          }
          x
        })
        x <- do.call(rbind, parts)
        res <- list(group = x$group, states = f$states)
        for (nm in setdiff(names(x), "group")) res[[nm]] <- num(x[[nm]])
        res
      })
    }
    if (!is.null(cr$cox)) {
      out$cs_cox <- list()
      for (k in setdiff(levels(st), "0")) {
        d$.cs <- as.integer(as.character(d[[cr$status]]) == k)
        for (m in cr$cox) {
          res <- cox_out(d, spec, m, cr$time, ".cs", NULL, NULL)
          res$cause <- as.integer(k)
          out$cs_cox[[length(out$cs_cox) + 1]] <- res
        }
      }
    }
  }
  out
}

for (name in names(manifest$cases)) {
  if (length(only) && !(name %in% only)) next
  res <- run_case(name, manifest$cases[[name]])
  txt <- toJSON(res, json_verbatim = TRUE, auto_unbox = TRUE, pretty = FALSE, null = "null", na = "string")
  writeLines(txt, file.path(outdir, paste0(name, ".json")))
  cat("wrote", file.path(outdir, paste0(name, ".json")), "\n")
}
