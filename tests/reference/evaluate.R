# R reference values for evaluating a program against the published trials
# (src/coachstats/{metaanalysis,onesample,evaluate}.py).
#
# Regenerate (from the repository root):
#     python tests/reference/make_evaluate_data.py   # the CSV fixtures, fixed seeds
#     Rscript tests/reference/evaluate.R             # writes tests/reference/evaluate.json
#
# R functions matched:
# - metafor::rma(yi, sei = sei, method = "DL") and method = "FE": pooled estimate, SE, Wald
#   interval and test, Cochran's QE / QEp, I2 (percent), H2, tau2; the difference of two
#   independent estimates (z test) in base R arithmetic;
# - binom.test (exact P and Clopper-Pearson interval), prop.test(correct = FALSE) (score
#   statistic, P and Wilson interval), t.test(x, mu = mu0);
# - direct (regression) standardization: glm(binomial) / lm fitted on the program, predictions
#   averaged over the reference population, delta-method SE from vcov() and the gradient
#   colMeans(mu (1 - mu) X_ref) (logistic) or colMeans(X_ref) (linear).
# Non-finite numbers are written as the strings "Inf", "-Inf", "NaN", "NA".

suppressPackageStartupMessages({
  library(jsonlite)
  library(metafor)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
data_dir <- file.path(here, "data")
read <- function(name) {
  read.csv(file.path(data_dir, paste0("evaluate_", name, ".csv")), stringsAsFactors = FALSE)
}

# ------------------------------------------------------------------ pooling
meta <- read("meta")
pool_set <- function(d) {
  fit <- function(method) {
    m <- rma(yi = d$yi, sei = d$sei, method = method)
    list(estimate = as.numeric(m$b), se = m$se, ci_lb = m$ci.lb, ci_ub = m$ci.ub,
         zval = m$zval, pval = m$pval, QE = m$QE, QEp = m$QEp, I2 = m$I2, H2 = m$H2,
         tau2 = m$tau2, k = m$k, weights = as.numeric(weights(m)) / 100)
  }
  out <- list(yi = d$yi, sei = d$sei, DL = fit("DL"), FE = fit("FE"))
  if (nrow(d) == 2) {
    diff <- d$yi[1] - d$yi[2]
    se <- sqrt(d$sei[1]^2 + d$sei[2]^2)
    z <- diff / se
    out$difference <- list(estimate = diff, se = se, z = z, p = 2 * pnorm(-abs(z)),
                           ci_lb = diff - qnorm(0.975) * se, ci_ub = diff + qnorm(0.975) * se)
  }
  out
}
pooled <- lapply(split(meta, factor(meta$set, levels = unique(meta$set))), pool_set)

# ------------------------------------------------------------------ one-sample tests
counts <- read("counts")
one_prop <- function(x, n, p0) {
  b <- binom.test(x, n, p0)
  s <- suppressWarnings(prop.test(x, n, p0, correct = FALSE))
  list(x = x, n = n, p0 = p0,
       exact_p = b$p.value, exact_ci = as.numeric(b$conf.int),
       score_statistic = as.numeric(s$statistic), score_p = s$p.value,
       score_ci = as.numeric(s$conf.int))
}
proportions <- setNames(lapply(seq_len(nrow(counts)), function(i) {
  with(counts[i, ], one_prop(x, n, p0))
}), counts$name)

means <- read("means")
one_mean <- function(d) {
  t <- t.test(d$value, mu = d$mu0[1])
  list(n = nrow(d), mean = mean(d$value), sd = sd(d$value), mu0 = d$mu0[1],
       statistic = as.numeric(t$statistic), df = as.numeric(t$parameter), p = t$p.value,
       ci = as.numeric(t$conf.int))
}
t_tests <- lapply(split(means, factor(means$set, levels = unique(means$set))), one_mean)

# ------------------------------------------------------------------ standardization
prog <- read("std_program")
ref <- read("std_reference")
prog$coached <- as.numeric(prog$arm == "coaching")

standardize <- function(formula, family, two_arm) {
  fit <- if (family == "binomial") glm(formula, data = prog, family = binomial) else lm(formula, data = prog)
  V <- vcov(fit)
  design <- function(a) {
    d <- ref
    if (two_arm) d$coached <- a
    model.matrix(delete.response(terms(fit)), d)
  }
  arms <- if (two_arm) c(1, 0) else 1
  est <- 0
  g <- rep(0, length(coef(fit)))
  signs <- c(1, -1)
  for (i in seq_along(arms)) {
    X <- design(arms[i])
    eta <- as.numeric(X %*% coef(fit))
    if (family == "binomial") {
      mu <- plogis(eta)
      g <- g + signs[i] * colMeans(mu * (1 - mu) * X)
    } else {
      mu <- eta
      g <- g + signs[i] * colMeans(X)
    }
    est <- est + signs[i] * mean(mu)
  }
  se <- sqrt(as.numeric(t(g) %*% V %*% g))
  list(estimate = est, se = se, coef = as.numeric(coef(fit)))
}

std <- list(
  logistic_single = standardize(goal ~ age + hba1c_0, "binomial", FALSE),
  logistic_two_arm = standardize(goal ~ coached + age + hba1c_0, "binomial", TRUE),
  linear_single = standardize(change ~ age + hba1c_0, "gaussian", FALSE),
  linear_two_arm = standardize(change ~ coached + age + hba1c_0, "gaussian", TRUE)
)

result <- list(
  generated_by = "tests/reference/evaluate.R",
  R_version = R.version.string,
  packages = list(stats = as.character(packageVersion("stats")),
                  metafor = as.character(packageVersion("metafor")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  pooled = pooled,
  proportions = proportions,
  t_tests = t_tests,
  standardization = std
)

write_json(result, file.path(here, "evaluate.json"), auto_unbox = TRUE, digits = NA,
           na = "string", pretty = TRUE)
cat("wrote", file.path(here, "evaluate.json"), "\n")
