# Reference values for coachstats.compare.nnt and coachstats.tasks.economics:
# numbers needed to treat with Altman's (1998) interval from epiR::epi.2by2
# (Wald risk difference, "NNT.strata.wald"), the cost per additional success
# with the cost treated as known, and a stratified percentile bootstrap of the
# cost per additional patient at goal on the bundled HCPC cohort (boot::boot).
#
# Regenerate (from the repository root):
#   PYTHONPATH=src python tests/reference/make_nnt_data.py
#   Rscript tests/reference/nnt.R
# which rewrites tests/reference/nnt.json.

suppressPackageStartupMessages({
  library(epiR)
  library(boot)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

# 2x2 tables: x1/n1 coaching at goal, x2/n2 usual care at goal (../shared/published.md
# for the HCPC counts; the others are made up to cover each case of Altman's interval).
tables <- list(
  hcpc_composite = c(90, 194, 61, 178),  # significant benefit
  hcpc_all = c(66, 194, 44, 178),        # benefit, lower limit just above 0
  hcpc_a1c = c(34, 70, 21, 76),          # benefit
  crossing = c(60, 194, 52, 178),        # CI includes 0, estimate benefit
  crossing_harm = c(40, 194, 52, 178),   # CI includes 0, estimate harm
  harm = c(30, 194, 62, 178),            # significant harm
  small = c(9, 14, 4, 16)
)

# the cost per coached patient: 540.8 minutes (HCPC) at 20.19 USD/hour
cost <- 540.8 / 60 * 20.19

nnt_out <- lapply(names(tables), function(name) {
  x <- tables[[name]]
  tab <- as.table(matrix(c(x[1], x[2] - x[1], x[3], x[4] - x[3]), nrow = 2, byrow = TRUE))
  fit <- suppressWarnings(epi.2by2(dat = tab, method = "cohort.count", conf.level = 0.95))
  d <- fit$massoc.detail
  ar <- d$ARisk.strata.wald / 100  # epiR reports per 100
  nnt <- d$NNT.strata.wald
  list(
    name = name, x1 = x[1], n1 = x[2], x2 = x[3], n2 = x[4],
    difference = ar$est, difference_low = ar$lower, difference_high = ar$upper,
    nnt = nnt$est, nnt_lower = nnt$lower, nnt_upper = nnt$upper,
    cost = cost,
    cost_estimate = if (ar$est > 0) cost / ar$est else NA,
    cost_low = if (ar$upper > 0) cost / ar$upper else NA,
    cost_high = if (ar$lower > 0) cost / ar$lower else "Inf"
  )
})
names(nnt_out) <- names(tables)

# ---------------------------------------------------------------- bootstrap
d <- read.csv(file.path(here, "data", "nnt_hcpc.csv"), stringsAsFactors = FALSE)
d$coached <- d$arm == "coaching"
rate <- 20.19 / 60

stat <- function(data, idx) {
  s <- data[idx, ]
  tr <- s[s$coached, ]
  uc <- s[!s$coached, ]
  diff <- mean(tr$composite_any, na.rm = TRUE) - mean(uc$composite_any, na.rm = TRUE)
  c_hat <- rate * mean(tr$coaching_minutes, na.rm = TRUE)
  c(if (diff > 0) c_hat / diff else Inf, diff, c_hat)
}

B <- 20000
set.seed(20240521)
b <- boot(d, stat, R = B, strata = factor(d$arm))
ratio <- b$t[, 1]
diff <- b$t[, 2]
probs <- c(0.025, 0.975)
# Monte Carlo tolerance for a percentile limit: another run of B replicates (the
# Python one) puts its q-quantile within the order statistics B q +- k of this run,
# k = 4 sqrt(2 B q (1 - q)) (4 standard errors of the difference of two independent
# order-statistic positions; the chance of a false failure is about 6e-5 per limit).
band <- function(x, q) {
  s <- sort(x)
  k <- 4 * sqrt(2 * B * q * (1 - q))
  lo <- s[max(1, floor(B * q - k))]
  hi <- s[min(B, ceiling(B * q + k))]
  c(lo, hi)
}
enc <- function(v) ifelse(is.finite(v), v, "Inf")

boot_out <- list(
  B = B,
  estimate = b$t0[1],
  difference = b$t0[2],
  cost_per_patient = b$t0[3],
  ratio_quantiles = enc(unname(quantile(ratio, probs, type = 7))),
  ratio_low_band = enc(band(ratio, 0.025)),
  ratio_high_band = enc(band(ratio, 0.975)),
  difference_low_band = band(diff, 0.025),
  difference_high_band = band(diff, 0.975),
  share_no_benefit = mean(diff <= 0)
)

out <- list(
  versions = list(R = as.character(getRversion()),
                  epiR = as.character(packageVersion("epiR")),
                  boot = as.character(packageVersion("boot"))),
  nnt = nnt_out,
  bootstrap = boot_out
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           file.path(here, "nnt.json"))
