# Export R survival's `colon` and `heart` data sets to CSV for the survival oracle.
# Usage (repository root): Rscript tests/oracle/export_datasets.R [outdir]
# The survival package (and its data) is LGPL (>= 2); see tests/fixtures/oracle/README.md.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args) >= 1) args[1] else "tests/fixtures/oracle"

# colon: one row per patient. OS from the death rows (etype 2), recurrence-free survival as the
# recurrence rows (etype 1: recurrence, censored at last follow-up), and competing risks
# cause 1 = recurrence (at its time), cause 2 = death without recurrence, 0 = censored.
rec <- subset(colon, etype == 1)
dth <- subset(colon, etype == 2)
m <- merge(rec[, c("id", "time", "status")], dth, by = "id", suffixes = c(".rec", ""))
stopifnot(nrow(m) == 929)
out <- data.frame(
  id = m$id, rx = as.character(m$rx), sex = m$sex, age = m$age, obstruct = m$obstruct,
  node4 = m$node4, nodes = m$nodes, differ = m$differ, extent = m$extent,
  os_time = m$time, os_status = m$status,
  rec_time = m$time.rec, rec_status = m$status.rec,
  cr_time = ifelse(m$status.rec == 1, m$time.rec, m$time),
  cr_status = ifelse(m$status.rec == 1, 1L, ifelse(m$status == 1, 2L, 0L))
)
out <- out[order(out$id), ]
write.csv(out, file.path(outdir, "colon.csv"), row.names = FALSE, na = "")

# heart: Stanford heart transplant, counting-process rows (transplant as time-varying covariate).
h <- heart
h$transplant <- as.integer(as.character(h$transplant))
write.csv(h[, c("id", "start", "stop", "event", "age", "year", "surgery", "transplant")],
          file.path(outdir, "heart.csv"), row.names = FALSE)
cat("wrote colon.csv and heart.csv to", outdir, "\n")
