# Large-m reference for the imputation engine (coachstats.compare.mice): R's mice run
# with thousands of imputations on the MAR fixture, summarised per imputation, so that
# tests/test_compare_missing.py can compare the whole pipeline (impute, fit, pool) with
# mice to a Monte Carlo error far below the m = 50 check of missing.R.
#
# Regenerate (from the repository root; about 15 minutes):
#   Rscript tests/reference/missing_large.R
# which rewrites tests/reference/missing_large.json. The fixture is
# tests/reference/data/missing_mar.csv (made by make_missing_data.py).
#
# For every case and every imputation i the script records the coaching coefficient of
# the two analysis models of missing.R (lm of hba1c_12, glm of goal_met on arm + hba1c_0
# + age) and the mean of the imputed cells of each imputed column within each arm; the
# JSON holds the mean and the variance of each of these over the m imputations (the
# mean of the coefficients is the pooled estimate, their variance is b).

suppressPackageStartupMessages({
  library(mice)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

mar <- read.csv(file.path(here, "data", "missing_mar.csv"), stringsAsFactors = FALSE)
mar$arm <- factor(mar$arm, levels = c("usual_care", "coaching"))
mar$sex <- factor(mar$sex)
vars <- c("arm", "age", "sex", "hba1c_0", "bmi", "hba1c_12", "goal_met")
dd <- mar[, vars]
dd$goal_met <- factor(dd$goal_met)  # logreg imputes factors
imputed <- c("bmi", "hba1c_12", "goal_met")
arms <- levels(mar$arm)
M_LARGE <- 4000L

CASES <- list(
  mar_pmm = list(methods = c(bmi = "pmm", hba1c_12 = "pmm", goal_met = "logreg"),
                 maxit = 10L, seed = 201L),
  mar_norm = list(methods = c(bmi = "norm", hba1c_12 = "norm", goal_met = "logreg"),
                  maxit = 10L, seed = 202L),
  # one iteration: the result still depends on the starting draws and the visit order
  mar_pmm_maxit1 = list(methods = c(bmi = "pmm", hba1c_12 = "pmm", goal_met = "logreg"),
                        maxit = 1L, seed = 203L)
)

x_model <- cbind(1, armcoaching = as.numeric(mar$arm == "coaching"), hba1c_0 = mar$hba1c_0,
                 age = mar$age)
summarise <- function(v) list(mean = mean(v), var = var(v))

run_case <- function(spec) {
  method <- c(arm = "", age = "", sex = "", hba1c_0 = "", spec$methods)[vars]
  imp <- mice(dd, m = M_LARGE, maxit = spec$maxit, method = method, seed = spec$seed,
              printFlag = FALSE)
  values <- function(col, i) {
    v <- mar[[col]]
    v[is.na(v)] <- as.numeric(as.character(imp$imp[[col]][, i]))
    v
  }
  lm_est <- glm_est <- numeric(M_LARGE)
  cell <- list()
  for (col in imputed) for (a in arms) cell[[paste(col, a, sep = ":")]] <- numeric(M_LARGE)
  for (i in seq_len(M_LARGE)) {
    lm_est[i] <- lm.fit(x_model, values("hba1c_12", i))$coefficients[2]
    g <- glm.fit(x_model, values("goal_met", i), family = binomial(),
                 control = glm.control(epsilon = 1e-12, maxit = 100))
    glm_est[i] <- g$coefficients[2]
    for (col in imputed) {
      miss <- is.na(mar[[col]])
      v <- values(col, i)
      for (a in arms) cell[[paste(col, a, sep = ":")]][i] <- mean(v[miss & mar$arm == a])
    }
  }
  list(
    methods = as.list(spec$methods), maxit = spec$maxit, seed = spec$seed, m = M_LARGE,
    estimate = list(lm_hba1c = summarise(lm_est), glm_goal = summarise(glm_est)),
    imputed_mean = lapply(cell, summarise)
  )
}

started <- Sys.time()
out <- list(
  generated_by = "tests/reference/missing_large.R",
  R_version = R.version.string,
  packages = list(mice = as.character(packageVersion("mice")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  cases = lapply(CASES, run_case)
)
message("elapsed: ", format(Sys.time() - started))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "missing_large.json"))
