# Reference values for partially nested designs (issue 21, item 4): coaches in the coaching arm
# only, usual-care patients unclustered.
#
# Regenerate from the repository root:
#     python tests/reference/make_nested_data.py     # CSV fixtures (fixed seeds)
#     Rscript tests/reference/partially_nested.R     # writes tests/reference/partially_nested.json
#
# Packages: jsonlite, lme4, lmerTest, nlme, geepack, sandwich, lmtest, clubSandwich.
#
# What is matched:
# - The mixed model with a random coach intercept for coached patients only,
#   lme4 with a dummy-coded random effect: lmer(change ~ armf + age + (0 + coached | coach)),
#   coached = 1 in the coaching arm, 0 in usual care, whose patients get a coach id of their own
#   (any id works: their column of Z is 0). REML and ML; Satterthwaite df and P through
#   lmerTest; variance components and logLik. The same REML fit by nlme::lme with
#   random = list(coach = pdIdent(~ 0 + coached)) as a second implementation (estimates,
#   variances and logLik only: nlme's df are its containment df).
# - geeglm (exchangeable, gaussian and binomial) and lm with vcovCL(HC1) / clubSandwich CR2,
#   with usual-care patients as clusters of one.
# - Power of the partially nested design: a Monte Carlo estimate of the power of the
#   lmerTest t test of the arm effect, data simulated from the lme4 model (2000 replicates),
#   to check the closed form (design effect on the coached arm only). Seeds fixed.
suppressPackageStartupMessages({
  library(jsonlite)
  library(lme4)
  library(lmerTest)
  library(nlme)
  library(geepack)
  library(sandwich)
  library(lmtest)
  library(clubSandwich)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("--file=", "", grep("--file=", args, value = TRUE))
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
vec <- function(x) unname(as.numeric(x))
lmer_ctrl <- lmerControl(
  optimizer = "nloptwrap",
  optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-15, xtol_rel = 1e-14, ftol_rel = 1e-15, maxeval = 1e5)
)
gee_ctrl <- geese.control(epsilon = 1e-10, maxit = 200)

read_fixture <- function(name) {
  d <- read.csv(file.path(here, "data", paste0("nested_", name, ".csv")), stringsAsFactors = FALSE,
                na.strings = "")
  d$armf <- factor(d$arm, levels = c("usual_care", "coaching"))
  d$coached <- as.numeric(d$arm == "coaching")
  # usual-care patients: a coach id of their own (singleton clusters)
  d$coach_or_own <- ifelse(is.na(d$coach), paste0("own_", d$patient_id), d$coach)
  d
}

mixed_block <- function(d, reml) {
  fit <- lmerTest::lmer(change ~ armf + age + (0 + coached | coach_or_own), data = d, REML = reml,
                        control = lmer_ctrl)
  cf <- summary(fit, ddf = "Satterthwaite")$coefficients
  vc <- as.data.frame(VarCorr(fit))
  out <- list(
    n = nobs(fit), names = rownames(cf), coef = vec(cf[, "Estimate"]),
    se = vec(cf[, "Std. Error"]), df = vec(cf[, "df"]), p = vec(cf[, "Pr(>|t|)"]),
    tau2 = vc$vcov[vc$grp == "coach_or_own"], sigma2 = vc$vcov[vc$grp == "Residual"],
    loglik = as.numeric(logLik(fit)), n_coaches = length(unique(d$coach[!is.na(d$coach)]))
  )
  if (reml) {
    nl <- lme(change ~ armf + age, random = list(coach_or_own = pdIdent(~ 0 + coached)), data = d,
              method = "REML", control = lmeControl(tolerance = 1e-12, msTol = 1e-14))
    out$nlme <- list(coef = vec(fixef(nl)), se = vec(sqrt(diag(vcov(nl)))),
                     tau2 = as.numeric(getVarCov(nl)), sigma2 = nl$sigma^2,
                     loglik = as.numeric(logLik(nl)))
  }
  out
}

gee_block <- function(d, outcome, family) {
  dd <- d[order(d$coach_or_own), ]
  dd$cid <- as.integer(factor(dd$coach_or_own))
  fit <- geeglm(as.formula(paste(outcome, "~ armf + age")), id = cid, data = dd, family = family,
                corstr = "exchangeable", control = gee_ctrl)
  s <- summary(fit)
  list(coef = vec(coef(fit)), se = vec(s$coefficients[, "Std.err"]),
       p = vec(s$coefficients[, "Pr(>|W|)"]), alpha = vec(fit$geese$alpha),
       n_clusters = length(unique(dd$cid)))
}

ols_block <- function(d) {
  fit <- lm(change ~ armf + age, data = d)
  VC <- vcovCL(fit, cluster = ~coach_or_own, type = "HC1")
  ct <- coeftest(fit, vcov. = VC, df = df.residual(fit))
  cr2 <- coef_test(fit, vcov = "CR2", cluster = d$coach_or_own, test = "Satterthwaite")
  list(coef = vec(coef(fit)), cr1_se = vec(ct[, 2]), cr1_p = vec(ct[, 4]),
       cr2_se = vec(cr2$SE), cr2_df = vec(cr2$df_Satt), cr2_p = vec(cr2$p_Satt))
}

# ----------------------------------------------------------------------------- power by simulation

simulate_power <- function(seed, reps, coaches, m, n2, delta, tau, sigma, alpha = 0.05) {
  set.seed(seed)
  n1 <- coaches * m
  coach <- c(rep(sprintf("k%02d", seq_len(coaches)), each = m), paste0("own_", seq_len(n2)))
  coached <- c(rep(1, n1), rep(0, n2))
  armf <- factor(ifelse(coached == 1, "coaching", "usual_care"), levels = c("usual_care", "coaching"))
  hits <- 0
  for (r in seq_len(reps)) {
    u <- rnorm(coaches, 0, tau)
    y <- delta * coached + c(rep(u, each = m), rep(0, n2)) + rnorm(n1 + n2, 0, sigma)
    d <- data.frame(y = y, armf = armf, coached = coached, coach = coach)
    fit <- suppressMessages(lmerTest::lmer(y ~ armf + (0 + coached | coach), data = d))
    p <- summary(fit, ddf = "Satterthwaite")$coefficients["armfcoaching", "Pr(>|t|)"]
    hits <- hits + (p < alpha)
  }
  list(seed = seed, reps = reps, coaches = coaches, cluster_size = m, n2 = n2, delta = delta,
       tau = tau, sigma = sigma, alpha = alpha, power = hits / reps)
}

fixture_block <- function(name) {
  d <- read_fixture(name)
  list(
    mixed = list(reml = mixed_block(d, TRUE), ml = mixed_block(d, FALSE)),
    gee = list(gaussian = gee_block(d, "change", gaussian()), binomial = gee_block(d, "goal", binomial())),
    linear = ols_block(d)
  )
}

pkgs <- c("jsonlite", "lme4", "lmerTest", "nlme", "geepack", "sandwich", "lmtest", "clubSandwich")
result <- list(
  R_version = R.version.string,
  packages = setNames(lapply(pkgs, function(p) as.character(packageVersion(p))), pkgs),
  fixtures = list(many = fixture_block("many"), few = fixture_block("few")),
  power = list(
    simulate_power(20260201, 2000, coaches = 30, m = 8, n2 = 240, delta = 0.45, tau = 0.5,
                   sigma = 1.2),
    simulate_power(20260202, 2000, coaches = 20, m = 12, n2 = 120, delta = 0.6, tau = 0.6,
                   sigma = 1.3)
  )
)
writeLines(toJSON(result, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           file.path(here, "partially_nested.json"))
