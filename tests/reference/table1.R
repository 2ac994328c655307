# R reference values for the standardized mean differences of Table 1
# (src/coachstats/table1.py), as R's tableone prints them (ExtractSmd).
#
# Regenerate (from the repository root):
#     python tests/reference/make_table1_data.py   # the CSV fixtures, fixed seeds
#     Rscript tests/reference/table1.R             # writes tests/reference/table1.json
#
# tableone is not on this machine, so its definitions are written out in base R:
#   continuous: |m1 - m2| / sqrt((var1 + var2) / 2), sample variances, NA dropped;
#   binary (0/1): |p1 - p2| / sqrt((p1 (1 - p1) + p2 (1 - p2)) / 2);
#   categorical (Yang & Dalton 2012): proportions of levels 2..k per arm, the multinomial
#   covariance diag(p) - p p' per arm, averaged, and sqrt(d' ginv(S) d) with MASS::ginv;
#   a zero variance gives 0 when the means are equal.

suppressPackageStartupMessages({
  library(jsonlite)
  library(MASS)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

smd_num <- function(x, arm, binary = FALSE) {
  a <- x[arm == "coaching"]
  b <- x[arm == "usual_care"]
  m <- c(mean(a, na.rm = TRUE), mean(b, na.rm = TRUE))
  v <- if (binary) m * (1 - m) else c(var(a, na.rm = TRUE), var(b, na.rm = TRUE))
  d <- m[1] - m[2]
  s <- (v[1] + v[2]) / 2
  if (d == 0 && s == 0) return(0)
  abs(d) / sqrt(s)
}

smd_cat <- function(x, arm) {
  keep <- !is.na(x)
  tab <- table(factor(arm[keep], levels = c("coaching", "usual_care")), factor(x[keep]))
  p <- prop.table(tab, margin = 1)
  if (ncol(p) > 1) p <- p[, -1, drop = FALSE]
  p1 <- as.numeric(p[1, ])
  p2 <- as.numeric(p[2, ])
  cov_of <- function(q) {
    s <- -outer(q, q)
    diag(s) <- q * (1 - q)
    s
  }
  S <- (cov_of(p1) + cov_of(p2)) / 2
  d <- p1 - p2
  if (all(S == 0)) return(if (all(d == 0)) 0 else NaN)
  sqrt(as.numeric(t(d) %*% ginv(S) %*% d))
}

out <- list(
  R_version = R.version.string,
  packages = list(MASS = as.character(packageVersion("MASS"))),
  fixtures = list()
)
for (name in c("balanced", "unbalanced", "small")) {
  d <- read.csv(file.path(here, "data", paste0("table1_", name, ".csv")), stringsAsFactors = FALSE)
  out$fixtures[[name]] <- list(
    n = as.list(table(d$arm)),
    age = smd_num(d$age, d$arm),
    bmi = smd_num(d$bmi, d$arm),
    const = smd_num(d$const, d$arm),
    insulin = smd_num(d$insulin, d$arm, binary = TRUE),
    sex = smd_cat(d$sex, d$arm),
    ethnicity = smd_cat(d$ethnicity, d$arm),
    site = smd_cat(d$site, d$arm),
    age_mean = list(coaching = mean(d$age[d$arm == "coaching"], na.rm = TRUE),
                    usual_care = mean(d$age[d$arm == "usual_care"], na.rm = TRUE)),
    age_sd = list(coaching = sd(d$age[d$arm == "coaching"], na.rm = TRUE),
                  usual_care = sd(d$age[d$arm == "usual_care"], na.rm = TRUE))
  )
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(here, "table1.json"))
