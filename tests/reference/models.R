# Reference values for coachstats.compare.models (logistic, linear, GEE, mixed).
#
# Regenerate from the repository root:
#     python tests/reference/make_models_data.py   # CSV fixtures (fixed seeds)
#     Rscript tests/reference/models.R             # writes tests/reference/models.json
#
# Packages: jsonlite, sandwich, lmtest, geepack, lme4, lmerTest.
#
# What is matched, and the only departures from the R defaults:
# - glm(binomial) and lm: coefficients, model-based SEs, z (glm) / t (lm) tests.
#   glm is run with glm.control(epsilon = 1e-14, maxit = 100) so that R's own
#   iteration is converged well below the 1e-6 test tolerance.
# - Marginal (standardized) risk difference from the logistic fit: the mean
#   predicted risk with everyone set to coaching minus everyone set to usual
#   care, covariates held at their observed values; delta-method SE
#   sqrt(g' V g) with g = d RD / d beta computed by hand below, with V the
#   model-based vcov or vcovCL.
# - sandwich::vcovCL(fit, cluster = ~clinic, type = "HC1") (cadjust = TRUE:
#   G/(G-1) * (n-1)/(n-k), k = number of coefficients, clinic dummies included
#   for the fixed-effects fits); z-based P for glm, t with the residual df for
#   lm (what lmtest::coeftest does).
# - Clinic fixed effects: glm / lm with factor(clinic). For glm, clinics whose
#   outcome is all 0 or all 1 are removed first (their intercepts diverge);
#   coachstats drops them with a warning.
# - geepack::geeglm, corstr "exchangeable" and "independence", binomial-logit
#   and gaussian-identity, robust ("san.se") SEs, alpha and scale estimated by
#   geepack's default moment equations. Data are sorted by clinic (geeglm
#   takes clusters as runs of equal id). control = geese.control(epsilon =
#   1e-10, maxit = 200): the default epsilon = 1e-4 stops the alternating
#   iteration well short of the fixed point the tests compare against.
# - lme4::lmer random intercept, REML = TRUE and FALSE, through lmerTest (same
#   fit) for Satterthwaite df and P. The optimizer tolerances are tightened
#   (the defaults stop about 1e-6 short of the optimum of the variance ratio).
suppressPackageStartupMessages({
  library(jsonlite)
  library(sandwich)
  library(lmtest)
  library(geepack)
  library(lme4)
  library(lmerTest)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("--file=", "", grep("--file=", args, value = TRUE))
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

covariates <- c("age", "bmi", "marital", "insulin")
glm_ctrl <- glm.control(epsilon = 1e-14, maxit = 100)
gee_ctrl <- geese.control(epsilon = 1e-10, maxit = 200)
lmer_ctrl <- lmerControl(
  optimizer = "nloptwrap",
  optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-15, xtol_rel = 1e-14, ftol_rel = 1e-15, maxeval = 1e5)
)

read_fixture <- function(name) {
  d <- read.csv(file.path(here, "data", paste0("models_", name, ".csv")), stringsAsFactors = FALSE)
  d$treat <- as.integer(d$arm == "coaching")
  d$marital <- factor(d$marital)
  d
}

complete <- function(d, outcome, adjusted) {
  cols <- c(outcome, "arm", "clinic", if (adjusted) covariates)
  d[complete.cases(d[, cols]), ]
}

rhs <- function(adjusted, fe = FALSE) {
  terms <- c("treat", if (adjusted) covariates, if (fe) "factor(clinic)")
  paste(terms, collapse = " + ")
}

vec <- function(x) unname(as.numeric(x))

# Marginal risk difference and its delta-method SE for vcov V.
marginal_rd <- function(fit, V) {
  X <- model.matrix(fit)
  b <- coef(fit)
  X1 <- X
  X1[, "treat"] <- 1
  X0 <- X
  X0[, "treat"] <- 0
  p1 <- as.vector(plogis(X1 %*% b))
  p0 <- as.vector(plogis(X0 %*% b))
  g <- colMeans(p1 * (1 - p1) * X1) - colMeans(p0 * (1 - p0) * X0)
  list(rd = mean(p1) - mean(p0), se = sqrt(drop(t(g) %*% V %*% g)))
}

# Coefficients other than the intercept and the clinic dummies.
keep <- function(x) x[!grepl("^\\(Intercept\\)$|^factor\\(clinic\\)", names(x))]

logistic_block <- function(d, adjusted, fe = FALSE) {
  dd <- complete(d, "goal", adjusted)
  n_dropped <- 0L
  if (fe) {
    m <- tapply(dd$goal, dd$clinic, mean)
    bad <- names(m)[m == 0 | m == 1]
    n_dropped <- sum(dd$clinic %in% bad)
    dd <- dd[!(dd$clinic %in% bad), ]
  }
  fit <- glm(as.formula(paste("goal ~", rhs(adjusted, fe))), family = binomial, data = dd,
             control = glm_ctrl)
  V <- vcov(fit)
  VC <- vcovCL(fit, cluster = ~clinic, type = "HC1")
  b <- coef(fit)
  se <- sqrt(diag(V))
  se_cl <- sqrt(diag(VC))
  rd <- marginal_rd(fit, V)
  rd_cl <- marginal_rd(fit, VC)
  sel <- if (fe) names(keep(b)) else names(b)
  list(
    n = nobs(fit), n_clinics = length(unique(dd$clinic)), n_dropped = n_dropped,
    names = sel, coef = vec(b[sel]), se = vec(se[sel]),
    z = vec((b / se)[sel]), p = vec((2 * pnorm(-abs(b / se)))[sel]),
    rd = rd$rd, rd_se = rd$se,
    cl_se = vec(se_cl[sel]), cl_p = vec((2 * pnorm(-abs(b / se_cl)))[sel]), cl_rd_se = rd_cl$se,
    deviance = deviance(fit)
  )
}

linear_block <- function(d, adjusted, fe = FALSE) {
  dd <- complete(d, "hba1c_change", adjusted)
  fit <- lm(as.formula(paste("hba1c_change ~", rhs(adjusted, fe))), data = dd)
  b <- coef(fit)
  se <- sqrt(diag(vcov(fit)))
  se_cl <- sqrt(diag(vcovCL(fit, cluster = ~clinic, type = "HC1")))
  df <- df.residual(fit)
  sel <- if (fe) names(keep(b)) else names(b)
  list(
    n = nobs(fit), df = df, names = sel, coef = vec(b[sel]), se = vec(se[sel]),
    t = vec((b / se)[sel]), p = vec((2 * pt(-abs(b / se), df))[sel]),
    cl_se = vec(se_cl[sel]), cl_p = vec((2 * pt(-abs(b / se_cl), df))[sel]),
    sigma = summary(fit)$sigma
  )
}

gee_block <- function(d, outcome, family, corstr) {
  dd <- complete(d, outcome, TRUE)
  dd <- dd[order(dd$clinic), ]
  dd$cid <- as.integer(factor(dd$clinic))
  fit <- geeglm(as.formula(paste(outcome, "~", rhs(TRUE))), id = cid, data = dd,
                family = family, corstr = corstr, control = gee_ctrl)
  s <- summary(fit)
  list(
    n = nrow(dd), names = rownames(s$coefficients), coef = vec(coef(fit)),
    se = vec(s$coefficients[, "Std.err"]), p = vec(s$coefficients[, "Pr(>|W|)"]),
    alpha = if (corstr == "independence") 0 else vec(fit$geese$alpha),
    scale = vec(fit$geese$gamma), iterations = fit$geese$iterations
  )
}

mixed_block <- function(d, adjusted, reml) {
  dd <- complete(d, "hba1c_change", adjusted)
  f <- as.formula(paste("hba1c_change ~", rhs(adjusted), "+ (1 | clinic)"))
  fit <- lmerTest::lmer(f, data = dd, REML = reml, control = lmer_ctrl)
  cf <- summary(fit, ddf = "Satterthwaite")$coefficients
  vc <- as.data.frame(VarCorr(fit))
  list(
    n = nobs(fit), names = rownames(cf), coef = vec(cf[, "Estimate"]),
    se = vec(cf[, "Std. Error"]), df = vec(cf[, "df"]), t = vec(cf[, "t value"]),
    p = vec(cf[, "Pr(>|t|)"]),
    tau2 = vc$vcov[vc$grp == "clinic"], sigma2 = vc$vcov[vc$grp == "Residual"],
    loglik = as.numeric(logLik(fit)), theta = vec(getME(fit, "theta"))
  )
}

fixture_block <- function(name) {
  d <- read_fixture(name)
  out <- list(
    logistic = list(
      unadjusted = logistic_block(d, FALSE),
      adjusted = logistic_block(d, TRUE),
      fixed_effects = logistic_block(d, TRUE, fe = TRUE)
    ),
    linear = list(
      unadjusted = linear_block(d, FALSE),
      adjusted = linear_block(d, TRUE),
      fixed_effects = linear_block(d, TRUE, fe = TRUE)
    ),
    gee = list(),
    mixed = list(
      reml_unadjusted = mixed_block(d, FALSE, TRUE),
      reml_adjusted = mixed_block(d, TRUE, TRUE),
      ml_adjusted = mixed_block(d, TRUE, FALSE)
    )
  )
  for (fam in c("binomial", "gaussian")) {
    outcome <- if (fam == "binomial") "goal" else "hba1c_change"
    for (cs in c("exchangeable", "independence")) {
      out$gee[[paste(fam, cs, sep = "_")]] <- gee_block(d, outcome, get(fam)(), cs)
    }
  }
  out
}

pkgs <- c("jsonlite", "sandwich", "lmtest", "geepack", "lme4", "lmerTest", "numDeriv")
result <- list(
  R_version = R.version.string,
  packages = setNames(lapply(pkgs, function(p) as.character(packageVersion(p))), pkgs),
  covariates = covariates,
  fixtures = list(
    many = fixture_block("many"),
    few = fixture_block("few"),
    small = fixture_block("small")
  )
)
writeLines(toJSON(result, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "models.json"))
