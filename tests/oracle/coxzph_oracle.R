# R `survival` cox.zph (survival >= 3.0) oracle for icistop.coxzph.
# Usage (repository root):
#   Rscript tests/oracle/coxzph_oracle.R [fixtures_dir [out_file]]
# Reads fixtures_dir/coxzph_cases.json and the CSV inputs named there; for every case, ties (efron,
# breslow), transform (km, identity, rank, log) and terms (TRUE, FALSE) writes the cox.zph table
# (chisq, df, p per term and GLOBAL) and the fitted coefficients, 17 significant digits, to out_file
# (default fixtures_dir/coxzph_oracle.json). Factor columns are named "var=level" (icistop's names).
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = TRUE)
fixtures <- if (length(args) >= 1) args[1] else "tests/fixtures/oracle"
out_file <- if (length(args) >= 2) args[2] else file.path(fixtures, "coxzph_oracle.json")
manifest <- fromJSON(file.path(fixtures, "coxzph_cases.json"), simplifyVector = FALSE)
ctl <- coxph.control(eps = 1e-12, iter.max = 100, toler.chol = .Machine$double.eps^0.9)

fit_case <- function(spec, ties) {
  d <- read.csv(file.path(fixtures, spec$data), stringsAsFactors = FALSE)
  covs <- unlist(spec$covariates)
  for (v in names(spec$categorical)) {
    ref <- spec$categorical[[v]]
    lv <- sort(unique(as.character(d[[v]])))
    d[[v]] <- factor(as.character(d[[v]]), levels = c(ref, setdiff(lv, ref)))
  }
  lhs <- if (is.null(spec$entry)) sprintf("Surv(`%s`, `%s`)", spec$time, spec$event) else
    sprintf("Surv(`%s`, `%s`, `%s`)", spec$entry, spec$time, spec$event)
  rhs <- paste(sprintf("`%s`", covs), collapse = " + ")
  if (!is.null(spec$strata))
    rhs <- paste0(rhs, " + strata(", paste(sprintf("`%s`", unlist(spec$strata)), collapse = ", "), ")")
  d$.w <- if (is.null(spec$weights)) 1 else d[[spec$weights]]
  fit <- coxph(as.formula(paste(lhs, "~", rhs)), data = d, weights = .w, ties = ties, control = ctl)
  # icistop column names: "var=level" for factor columns
  cn <- character(0)
  for (term in names(fit$assign)) {
    v <- gsub("`", "", term)
    cn <- c(cn, if (v %in% names(spec$categorical)) paste0(v, "=", levels(d[[v]])[-1]) else v)
  }
  names(fit$coefficients) <- cn
  fit
}

rows <- list()
coefs <- list()
for (case in names(manifest$cases)) {
  spec <- manifest$cases[[case]]
  for (ties in c("efron", "breslow")) {
    fit <- fit_case(spec, ties)
    coefs[[length(coefs) + 1]] <- data.frame(case = case, ties = ties, column = names(fit$coefficients),
                                             coef = unname(fit$coefficients), row.names = NULL)
    for (tr in c("km", "identity", "rank", "log")) {
      for (terms in c(TRUE, FALSE)) {
        z <- cox.zph(fit, transform = tr, terms = terms)
        tab <- z$table
        nm <- gsub("`", "", rownames(tab))
        if (!terms) nm[seq_along(fit$coefficients)] <- names(fit$coefficients)
        rows[[length(rows) + 1]] <- data.frame(case = case, ties = ties, transform = tr, terms = terms,
                                               term = nm, chisq = tab[, "chisq"], df = tab[, "df"],
                                               p = tab[, "p"], row.names = NULL)
      }
    }
  }
}
res <- list(r_version = R.version.string, survival_version = as.character(packageVersion("survival")),
            coef = do.call(rbind, coefs), zph = do.call(rbind, rows))
writeLines(toJSON(res, digits = NA, dataframe = "columns", auto_unbox = TRUE, pretty = FALSE), out_file)
