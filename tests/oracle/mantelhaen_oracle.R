# Oracle for icistop.stats.mantelhaen: R stats::mantelhaen.test on the tables of
# tests/fixtures/oracle/mantelhaen_cases.json (each a list of K 2 x 2 tables, row-major).
# Usage: Rscript tests/oracle/mantelhaen_oracle.R [cases.json] [out.json]
suppressPackageStartupMessages(library(jsonlite))
args <- commandArgs(trailingOnly = TRUE)
cases_file <- if (length(args) >= 1) args[1] else "tests/fixtures/oracle/mantelhaen_cases.json"
out_file <- if (length(args) >= 2) args[2] else "tests/fixtures/oracle/mantelhaen_oracle.json"
cases <- fromJSON(cases_file, simplifyVector = FALSE)$cases
res <- list()
for (name in names(cases)) {
  tabs <- cases[[name]]
  K <- length(tabs)
  x <- array(0, dim = c(2, 2, K))
  for (k in seq_len(K)) x[, , k] <- matrix(unlist(tabs[[k]]), 2, 2, byrow = TRUE)
  one <- list()
  for (exact in c(FALSE, TRUE)) {
    for (alt in c("two.sided", "less", "greater")) {
      for (correct in if (exact) TRUE else c(TRUE, FALSE)) {
        r <- mantelhaen.test(x, exact = exact, correct = correct, alternative = alt, conf.level = 0.9)
        one[[length(one) + 1]] <- list(exact = exact, alternative = alt, correct = correct,
                                       statistic = unname(r$statistic), p = r$p.value,
                                       estimate = unname(r$estimate), ci = as.numeric(r$conf.int))
      }
    }
  }
  res[[name]] <- one
}
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE), out_file)
