# Reference values for the small-sample cluster-robust linear model
# (coachstats.compare.smallsample; linear(..., cluster=..., cluster_vcov="CR2")).
#
# Regenerate from the repository root (the CSV fixtures come from
# tests/reference/make_models_data.py):
#     Rscript tests/reference/smallsample.R   # writes tests/reference/smallsample.json
#
# Packages: jsonlite, clubSandwich (Debian: r-cran-clubsandwich).
#
# What is matched: lm() of hba1c_change on the arm (treat = coaching), alone and
# adjusted for age, bmi, marital and insulin, complete cases; then
#     clubSandwich::vcovCR(fit, cluster = clinic, type = "CR2")
#     clubSandwich::coef_test(fit, vcov = V, test = "Satterthwaite")
# for the arm coefficient: the bias-reduced linearization SE (Bell & McCaffrey
# 2002; the working model is the OLS one, independent homoskedastic errors,
# clubSandwich's default for lm) and the Satterthwaite degrees of freedom of
# Pustejovsky & Tipton (2018), with the t-based P value and 95 % interval.
# Also the CR2 SE of every coefficient (the whole vcov diagonal).
suppressPackageStartupMessages({
  library(jsonlite)
  library(clubSandwich)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("--file=", "", grep("--file=", args, value = TRUE))
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

covariates <- c("age", "bmi", "marital", "insulin")

read_fixture <- function(name) {
  d <- read.csv(file.path(here, "data", paste0("models_", name, ".csv")), stringsAsFactors = FALSE)
  d$treat <- as.integer(d$arm == "coaching")
  d$marital <- factor(d$marital)
  d
}

block <- function(d, adjusted) {
  cols <- c("hba1c_change", "arm", "clinic", if (adjusted) covariates)
  dd <- d[complete.cases(d[, cols]), ]
  rhs <- paste(c("treat", if (adjusted) covariates), collapse = " + ")
  fit <- lm(as.formula(paste("hba1c_change ~", rhs)), data = dd)
  V <- vcovCR(fit, cluster = dd$clinic, type = "CR2")
  ct <- coef_test(fit, vcov = V, test = "Satterthwaite", coefs = "treat")
  ci <- conf_int(fit, vcov = V, test = "Satterthwaite", coefs = "treat", level = 0.95)
  list(
    n = nobs(fit), n_clusters = length(unique(dd$clinic)),
    estimate = unname(coef(fit)["treat"]),
    se = ct$SE, df = ct$df_Satt, t = ct$tstat, p = ct$p_Satt,
    conf_low = ci$CI_L, conf_high = ci$CI_U,
    names = names(coef(fit)), vcov_diag_se = unname(sqrt(diag(as.matrix(V))))
  )
}

out <- list()
for (name in c("many", "few", "small")) {
  d <- read_fixture(name)
  out[[name]] <- list(crude = block(d, FALSE), adjusted = block(d, TRUE))
}
out$versions <- list(R = R.version.string, clubSandwich = as.character(packageVersion("clubSandwich")))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "smallsample.json"))
