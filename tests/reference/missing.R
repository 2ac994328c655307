# Reference values for coachstats.compare.missing: Rubin's rules (mice::pool) on
# imputed datasets made by coachstats, and mice's own imputations on the same
# incomplete fixtures (for the in-distribution comparison).
#
# Regenerate (from the repository root):
#   PYTHONPATH=src python tests/reference/make_missing_data.py
#   Rscript tests/reference/missing.R
# which rewrites tests/reference/missing.json.
#
# Arms are coded with usual care as the reference level, so the "armcoaching"
# coefficient is the coaching effect (as coachstats reports it). glm fits use a
# tighter convergence criterion than the default (epsilon 1e-12) so that the
# per-imputation estimates are converged well below the 1e-6 test tolerance.

suppressPackageStartupMessages({
  library(mice)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
data_dir <- file.path(here, "data")

read_fixture <- function(name) {
  d <- read.csv(file.path(data_dir, name), stringsAsFactors = FALSE)
  d$arm <- factor(d$arm, levels = c("usual_care", "coaching"))
  if ("sex" %in% names(d)) d$sex <- factor(d$sex)
  d
}

MODELS <- list(
  lm_hba1c = list(type = "lm", formula = hba1c_12 ~ arm + hba1c_0 + age),
  glm_goal = list(type = "glm", formula = goal_met ~ arm + hba1c_0 + age)
)

fit_model <- function(spec, d) {
  if (spec$type == "lm") {
    lm(spec$formula, data = d)
  } else {
    glm(spec$formula, family = binomial, data = d,
        control = glm.control(epsilon = 1e-12, maxit = 100))
  }
}

# mice::pool output for every term, plus the per-imputation estimates and variances
pool_fits <- function(fits, dfcom = NULL) {
  p <- pool(as.mira(fits), dfcom = dfcom)
  s <- summary(p, conf.int = TRUE)
  pooled <- p$pooled
  per_est <- sapply(fits, coef)
  per_var <- sapply(fits, function(f) diag(vcov(f)))
  terms <- as.character(pooled$term)
  out <- lapply(seq_along(terms), function(k) {
    list(
      term = terms[k],
      m = pooled$m[k],
      estimate = pooled$estimate[k],
      ubar = pooled$ubar[k],
      b = pooled$b[k],
      t = pooled$t[k],
      dfcom = pooled$dfcom[k],
      df = pooled$df[k],
      riv = pooled$riv[k],
      lambda = pooled$lambda[k],
      fmi = pooled$fmi[k],
      std_error = s$std.error[k],
      statistic = s$statistic[k],
      p_value = s$p.value[k],
      conf_low = s[["2.5 %"]][k],
      conf_high = s[["97.5 %"]][k],
      per_imputation_estimate = unname(per_est[terms[k], ]),
      per_imputation_variance = unname(per_var[terms[k], ])
    )
  })
  names(out) <- terms
  out
}

fits_on_long <- function(long, spec) {
  lapply(split(long, long$.imp), function(d) fit_model(spec, d))
}

# ---------------------------------------------------------------- 1. pooling arithmetic
pooling <- list()
long_mar <- read_fixture("missing_imputed_mar.csv")
pooling$mar_lm <- pool_fits(fits_on_long(long_mar, MODELS$lm_hba1c))
pooling$mar_lm_dfcom_inf <- pool_fits(fits_on_long(long_mar, MODELS$lm_hba1c), dfcom = Inf)
pooling$mar_glm <- pool_fits(fits_on_long(long_mar, MODELS$glm_goal))
long_small <- read_fixture("missing_imputed_small.csv")
pooling$small_glm <- pool_fits(fits_on_long(long_small, MODELS$glm_goal))

# zero between-imputation variance: three identical complete datasets
mcar <- read_fixture("missing_mcar.csv")
full_lm <- lm(hba1c_12_full ~ arm + hba1c_0 + age, data = mcar)
pooling$same_lm <- pool_fits(list(full_lm, full_lm, full_lm))

# ---------------------------------------------------------------- 2. mice in distribution
M_DIST <- 50L
MAXIT <- 10L

run_mice <- function(d, vars, method, seed, models) {
  dd <- d[, vars]
  dd$goal_met <- factor(dd$goal_met)  # logreg imputes factors
  imp <- mice(dd, m = M_DIST, maxit = MAXIT, method = method[vars], seed = seed,
              printFlag = FALSE)
  res <- lapply(models, function(spec) {
    fits <- lapply(seq_len(M_DIST), function(i) fit_model(spec, complete(imp, i)))
    pooled <- pool_fits(fits)$armcoaching
    list(
      term = "armcoaching",
      m = M_DIST,
      estimate = pooled$estimate,
      ubar = pooled$ubar,
      b = pooled$b,
      t = pooled$t,
      df = pooled$df,
      fmi = pooled$fmi,
      var_u = var(pooled$per_imputation_variance)
    )
  })
  list(method = as.list(method[vars]), seed = seed, maxit = MAXIT, models = res)
}

mar <- read_fixture("missing_mar.csv")
mar_vars <- c("arm", "age", "sex", "hba1c_0", "bmi", "hba1c_12", "goal_met")
distribution <- list(
  mar_pmm = run_mice(
    mar, mar_vars,
    c(arm = "", age = "", sex = "", hba1c_0 = "", bmi = "pmm", hba1c_12 = "pmm",
      goal_met = "logreg"),
    seed = 101L, models = MODELS
  ),
  mar_norm = run_mice(
    mar, mar_vars,
    c(arm = "", age = "", sex = "", hba1c_0 = "", bmi = "norm", hba1c_12 = "norm",
      goal_met = "logreg"),
    seed = 102L, models = MODELS
  ),
  small_logreg = run_mice(
    read_fixture("missing_small.csv"), c("arm", "age", "hba1c_0", "goal_met"),
    c(arm = "", age = "", hba1c_0 = "", goal_met = "logreg"),
    seed = 103L, models = MODELS["glm_goal"]
  )
)

# ---------------------------------------------------------------- 3. full data (MCAR fixture)
full_glm <- glm(goal_full ~ arm + hba1c_0 + age, family = binomial, data = mcar,
                control = glm.control(epsilon = 1e-12, maxit = 100))
full <- list(
  lm_hba1c = list(estimate = unname(coef(full_lm)["armcoaching"]),
                  std_error = unname(sqrt(diag(vcov(full_lm)))["armcoaching"])),
  glm_goal = list(estimate = unname(coef(full_glm)["armcoaching"]),
                  std_error = unname(sqrt(diag(vcov(full_glm)))["armcoaching"]))
)

# ---------------------------------------------------------------- 4. single imputation steps
# The univariate steps of mice on the first imputed MAR dataset: bmi, hba1c_12
# and goal_met as completed there, the original missingness pattern.
imp1 <- long_mar[long_mar$.imp == 1, ]
step_x <- cbind(armcoaching = as.numeric(mar$arm == "coaching"), age = mar$age,
                sexM = as.numeric(mar$sex == "M"), hba1c_0 = mar$hba1c_0)
# logreg: goal_met given arm, age, sex, hba1c_0, bmi, hba1c_12 (deterministic part)
x_goal <- cbind(step_x, bmi = imp1$bmi, hba1c_12 = imp1$hba1c_12)
y_goal <- factor(imp1$goal_met)
ry_goal <- !is.na(mar$goal_met)
aug <- mice:::augment(y_goal, ry_goal, x_goal, !ry_goal)
xa <- cbind(1, as.matrix(aug$x))
aug_fit <- glm.fit(x = xa[aug$ry, ], y = aug$y[aug$ry], family = quasibinomial(link = logit),
                   weights = aug$w[aug$ry],
                   control = glm.control(epsilon = 1e-12, maxit = 100))
n_obs <- nrow(x_goal)
logreg <- list(
  augmented_x = unname(as.matrix(aug$x)[-(1:n_obs), ]),
  augmented_y = as.numeric(as.character(aug$y[-(1:n_obs)])),
  augmented_w = aug$w[-(1:n_obs)],
  coef = unname(coef(aug_fit)),
  cov_unscaled = unname(summary.glm(aug_fit)$cov.unscaled)
)
# pmm: hba1c_12 given arm, age, sex, hba1c_0, bmi, goal_met; many draws of one step
x_a1c <- cbind(step_x, bmi = imp1$bmi, goal_met = imp1$goal_met)
ry_a1c <- !is.na(mar$hba1c_12)
N_DRAWS <- 20000L
set.seed(20240601)
draws <- replicate(N_DRAWS, mice.impute.pmm(mar$hba1c_12, ry_a1c, x_a1c))
pmm <- list(
  n_draws = N_DRAWS,
  row_mean = unname(rowMeans(draws)),
  row_sd = unname(apply(draws, 1, sd)),
  sd_of_draw_average = sd(colMeans(draws))
)
# matchindex with one donor is deterministic (the nearest donor; ties to the right)
set.seed(20240602)
md <- round(rnorm(40), 3)
mt <- c(round(rnorm(25), 3), -6, 6, md[c(3, 17)])
steps <- list(
  logreg = logreg,
  pmm = pmm,
  matchindex = list(d = md, t = mt, index_k1 = mice:::matchindex(md, mt, 1L))
)
# the draws of one step, summarised as for pmm (row mean and SD over the draws, and the SD
# of the average imputation of a draw, which carries the coefficient draw)
draw_summary <- function(draws) {
  list(
    n_draws = ncol(draws),
    row_mean = unname(rowMeans(draws)),
    row_sd = unname(apply(draws, 1, sd)),
    sd_of_draw_average = sd(colMeans(draws))
  )
}
# norm: hba1c_12 given the same predictors as pmm
set.seed(20240603)
steps$norm <- draw_summary(
  replicate(N_DRAWS, as.vector(mice.impute.norm(mar$hba1c_12, ry_a1c, x_a1c)))
)
# logreg: goal_met given the predictors of the augmentation check; the whole step
# (augment, weighted fit, coefficient draw, Bernoulli draw)
set.seed(20240604)
steps$logreg_draws <- draw_summary(
  replicate(N_DRAWS, as.numeric(as.character(mice.impute.logreg(y_goal, ry_goal, x_goal))))
)

out <- list(
  generated_by = "tests/reference/missing.R",
  R_version = R.version.string,
  packages = list(mice = as.character(packageVersion("mice")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  pooling = pooling,
  distribution = distribution,
  full_data = full,
  steps = steps
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "missing.json"))
