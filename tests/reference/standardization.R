# R reference values for a logistic direct standardization at the edge of the delta method
# (src/coachstats/compare/standardization.py and standardization_interval.py).
#
# Regenerate (from the repository root):
#     python tests/reference/make_standardization_data.py   # the CSV fixtures, fixed seeds
#     Rscript tests/reference/standardization.R             # writes standardization.json
#
# What R computes, independently of coachstats:
# - glm(goal ~ coached + age + hba1c_0, binomial) on the program; the standardized risk
#   difference over the reference (every reference patient predicted coached and not), each
#   arm's standardized share, and the same model averaged over the program's own patients;
# - its delta-method SE twice: with the analytic gradient colMeans(mu (1 - mu) X) and with
#   the gradient of the standardized figure taken numerically (numDeriv::grad, Richardson
#   extrapolation) -- the same variance by another route; and the robust (sandwich::sandwich,
#   HC0) delta-method SE for comparison;
# - the model refitted on resamples coachstats drew (standardization_edge_resamples.csv: the
#   first 200 of its 2,000, and the later ones its refit did not converge on): each resample's
#   standardized difference at glm's fit (maxit = 200, epsilon 1e-14), whether glm converged,
#   and its largest |coefficient| besides the intercept -- in the hundreds where the outcome
#   is separated in the resample (glm's deviance criterion stops there, while the
#   coefficients would run on), above 20 where it is nearly so. The percentile limits of the
#   first 200 (type 7 quantiles);
# - boot::boot's own stratified bootstrap (R's RNG, 2,000 resamples, the same refit): percentile
#   limits that differ from coachstats' only by Monte Carlo error.
# Non-finite numbers are written as the strings "Inf", "-Inf", "NaN", "NA".

suppressPackageStartupMessages({
  library(jsonlite)
  library(numDeriv)
  library(sandwich)
  library(boot)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
data_dir <- file.path(here, "data")
read <- function(name) {
  read.csv(file.path(data_dir, paste0("standardization_edge_", name, ".csv")),
           stringsAsFactors = FALSE)
}

prog <- read("program")
ref <- read("reference")
prog$coached <- as.numeric(prog$arm == "coaching")
form <- goal ~ coached + age + hba1c_0
level <- 0.95

design <- function(d, a) {
  d$coached <- a
  model.matrix(~ coached + age + hba1c_0, d)
}
standardized <- function(beta, d) {
  p1 <- plogis(as.numeric(design(d, 1) %*% beta))
  p0 <- plogis(as.numeric(design(d, 0) %*% beta))
  c(difference = mean(p1) - mean(p0), coached = mean(p1), usual = mean(p0))
}

fit <- glm(form, data = prog, family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100))
beta <- coef(fit)
V <- vcov(fit)
est <- standardized(beta, ref)
g_analytic <- rep(0, length(beta))
for (a in c(1, 0)) {
  X <- design(ref, a)
  mu <- plogis(as.numeric(X %*% beta))
  g_analytic <- g_analytic + (if (a == 1) 1 else -1) * colMeans(mu * (1 - mu) * X)
}
g_numeric <- grad(function(b) standardized(b, ref)[["difference"]], beta)
se_analytic <- sqrt(as.numeric(t(g_analytic) %*% V %*% g_analytic))
se_numeric <- sqrt(as.numeric(t(g_numeric) %*% V %*% g_numeric))
se_sandwich <- sqrt(as.numeric(t(g_analytic) %*% sandwich(fit) %*% g_analytic))

# ------------------------------------------------------------------ refits on resamples
fit_resample <- function(d) {
  f <- suppressWarnings(glm(form, data = d, family = binomial,
                            control = glm.control(epsilon = 1e-14, maxit = 200)))
  b <- coef(f)
  list(estimate = if (any(is.na(b))) NA_real_ else standardized(b, ref)[["difference"]],
       converged = f$converged,
       largest = if (any(is.na(b))) Inf else max(abs(b[-1])))
}
resampled <- read("resamples")
idx <- as.matrix(resampled[, -1])
fits <- lapply(seq_len(nrow(idx)), function(k) fit_resample(prog[idx[k, ], ]))
replicates <- vapply(fits, function(r) r$estimate, 0)
first <- resampled$resample <= 200

type7 <- function(v, q) as.numeric(quantile(v, q, type = 7, names = FALSE))
percentile <- function(values) {
  ok <- values[!is.na(values)]
  failed <- sum(is.na(values))
  alpha <- 1 - level
  c(low = -type7(c(-ok, rep(Inf, failed)), 1 - alpha / 2),
    high = type7(c(ok, rep(Inf, failed)), 1 - alpha / 2),
    failed = failed)
}

# ------------------------------------------------------------------ boot::boot's own bootstrap
set.seed(20150101)
b <- boot(prog, function(d, i) fit_resample(d[i, ])$estimate, R = 2000, strata = prog$coached)
own <- percentile(as.numeric(b$t))

result <- list(
  generated_by = "tests/reference/standardization.R",
  R_version = R.version.string,
  packages = list(stats = as.character(packageVersion("stats")),
                  numDeriv = as.character(packageVersion("numDeriv")),
                  sandwich = as.character(packageVersion("sandwich")),
                  boot = as.character(packageVersion("boot")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  n = nrow(prog),
  events = sum(prog$goal),
  coef = as.numeric(beta),
  estimate = est[["difference"]],
  arm_means = as.numeric(est[c("coached", "usual")]),
  adjusted = standardized(beta, prog)[["difference"]],
  se_delta = se_analytic,
  se_delta_numeric_gradient = se_numeric,
  se_delta_sandwich = se_sandwich,
  resamples = list(
    resample = resampled$resample,
    estimate = replicates,
    converged = vapply(fits, function(r) r$converged, TRUE),
    largest_coefficient = vapply(fits, function(r) r$largest, 0),
    percentile_first_200 = as.list(percentile(replicates[first]))
  ),
  boot = list(R = 2000, seed = 20150101, low = own[["low"]], high = own[["high"]],
              failed = own[["failed"]],
              sd = sd(as.numeric(b$t), na.rm = TRUE))
)

write_json(result, file.path(here, "standardization.json"), auto_unbox = TRUE, digits = NA,
           na = "string", pretty = TRUE)
cat("wrote", file.path(here, "standardization.json"), "\n")
