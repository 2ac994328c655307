# Reference values for coachstats.questionnaires (trust, PACIC, recommendation, clinician ratings).
#
# Regenerate from the repository root:
#     python tests/reference/make_questionnaires_data.py   # CSV fixtures (scored in Python)
#     Rscript tests/reference/questionnaires.R             # writes tests/reference/questionnaires.json
#
# Packages: jsonlite, lme4, lmerTest, geepack, sandwich, lmtest, clubSandwich.
#
# The fixtures hold the questionnaire scores already computed by coachstats.scales, so this
# script only selects the analysis set and fits models:
# - analysis set: complete cases on every column any analysis of the outcome uses (trust: trust_0,
#   trust_12, pcp_visits, clinician_id; PACIC / recommend: both time points and clinician_id;
#   visits: the rating), as coachstats does, so all analyses of one outcome share their rows;
# - trust: lmerTest::lmer(change ~ arm + pcp_visits + (1 | clinician_id), REML) with Satterthwaite
#   df; lm(trust_12 ~ arm + trust_0 + pcp_visits) (ANCOVA); Welch t.test of the change;
# - PACIC and recommend: geepack::geeglm (gaussian-identity / binomial-logit, exchangeable,
#   robust SE), unadjusted and adjusted for the baseline value; data sorted by clinician (geeglm
#   takes clusters as runs of equal id);
# - visit ratings: t.test(var.equal = TRUE); lmer(item ~ arm + (1 | clinician_id)); lm with
#   sandwich::vcovCL(type = "HC1") and the t reference on the residual df (lmtest::coeftest);
#   the same lm with clubSandwich::vcovCR(type = "CR2") and coef_test(test = "Satterthwaite");
#   geeglm gaussian exchangeable, plain and with the Mancl-DeRouen correction (md_helpers.R). The ICC is tau2 / (tau2 + sigma2) from VarCorr, and the
#   variance ratio of the t test's difference under the fitted random-intercept model is
#   computed by dense matrix algebra (x'Vx / (x'x)^2 over (tau2 + sigma2) / x'x, x the centred
#   arm indicator), independently of coachstats' closed form.
# Tolerances are tightened as in models.R: geese.control(epsilon = 1e-10) and the lmer optimizer
# tolerances (the defaults stop short of the fixed point the tests compare against).
suppressPackageStartupMessages({
  library(jsonlite)
  library(sandwich)
  library(lmtest)
  library(geepack)
  library(lme4)
  library(lmerTest)
  library(clubSandwich)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("--file=", "", grep("--file=", args, value = TRUE))
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
source(file.path(here, "md_helpers.R"))

gee_ctrl <- geese.control(epsilon = 1e-10, maxit = 200)
lmer_ctrl <- lmerControl(
  optimizer = "nloptwrap",
  optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-15, xtol_rel = 1e-14, ftol_rel = 1e-15, maxeval = 1e5)
)

read_fixture <- function(name) {
  d <- read.csv(file.path(here, "data", paste0("questionnaires_", name, ".csv")),
                stringsAsFactors = FALSE)
  d$arm <- factor(d$arm, levels = c("usual_care", "coaching"))
  d
}

complete <- function(d, cols) d[complete.cases(d[, c("arm", cols)]), ]

n_by_arm <- function(d) list(coaching = sum(d$arm == "coaching"), usual_care = sum(d$arm == "usual_care"))

vec <- function(x) unname(as.numeric(x))

coef_out <- function(est, se, stat, df, p, lo, hi) {
  list(estimate = vec(est), std_error = vec(se), statistic = vec(stat), df = vec(df),
       p_value = vec(p), conf_low = vec(lo), conf_high = vec(hi))
}

mixed_fit <- function(d, formula) {
  fit <- lmerTest::lmer(formula, data = d, REML = TRUE, control = lmer_ctrl)
  cf <- summary(fit, ddf = "Satterthwaite")$coefficients["armcoaching", ]
  ci_half <- qt(0.975, cf[["df"]]) * cf[["Std. Error"]]
  vc <- as.data.frame(VarCorr(fit))
  tau2 <- vc$vcov[vc$grp == "clinician_id"]
  sigma2 <- vc$vcov[vc$grp == "Residual"]
  c(coef_out(cf[["Estimate"]], cf[["Std. Error"]], cf[["t value"]], cf[["df"]], cf[["Pr(>|t|)"]],
             cf[["Estimate"]] - ci_half, cf[["Estimate"]] + ci_half),
    list(tau2 = tau2, sigma2 = sigma2, icc = tau2 / (tau2 + sigma2)))
}

lm_fit <- function(d, formula, cluster = FALSE) {
  fit <- lm(formula, data = d)
  V <- if (cluster) vcovCL(fit, cluster = d$clinician_id, type = "HC1") else vcov(fit)
  ct <- coeftest(fit, vcov. = V, df = df.residual(fit))["armcoaching", ]
  half <- qt(0.975, df.residual(fit)) * ct[["Std. Error"]]
  coef_out(ct[["Estimate"]], ct[["Std. Error"]], ct[["t value"]], df.residual(fit),
           ct[["Pr(>|t|)"]], ct[["Estimate"]] - half, ct[["Estimate"]] + half)
}

cr2_fit <- function(d, formula) {
  fit <- lm(formula, data = d)
  V <- vcovCR(fit, cluster = d$clinician_id, type = "CR2")
  ct <- coef_test(fit, vcov = V, test = "Satterthwaite", coefs = "armcoaching")
  ci <- conf_int(fit, vcov = V, test = "Satterthwaite", coefs = "armcoaching", level = 0.95)
  coef_out(ct$beta, ct$SE, ct$tstat, ct$df_Satt, ct$p_Satt, ci$CI_L, ci$CI_U)
}

t_fit <- function(y, arm, var_equal) {
  tt <- t.test(y[arm == "coaching"], y[arm == "usual_care"], var.equal = var_equal)
  est <- mean(y[arm == "coaching"]) - mean(y[arm == "usual_care"])
  coef_out(est, tt$stderr, tt$statistic, tt$parameter, tt$p.value, tt$conf.int[1], tt$conf.int[2])
}

gee_fit <- function(d, formula, family, md = FALSE) {
  d <- d[order(d$clinician_id), ]
  d$cid <- as.integer(factor(d$clinician_id))
  fit <- geeglm(formula, id = cid, data = d, family = family, corstr = "exchangeable",
                control = gee_ctrl)
  s <- summary(fit)$coefficients["armcoaching", ]
  se <- s[["Std.err"]]
  if (md) {  # the Mancl-DeRouen corrected SE (md_helpers.R), z-based as geeglm's
    se <- sqrt(mancl_derouen(fit, d[[all.vars(formula)[1]]], d$cid)$md[2, 2])
  }
  z <- s[["Estimate"]] / se
  half <- qnorm(0.975) * se
  c(coef_out(s[["Estimate"]], se, z, NA, if (md) 2 * pnorm(-abs(z)) else s[["Pr(>|W|)"]],
             s[["Estimate"]] - half, s[["Estimate"]] + half),
    list(alpha = vec(fit$geese$alpha), scale = vec(fit$geese$gamma)))
}

patients_block <- function(name) {
  d <- read_fixture(name)
  tr <- complete(d, c("trust_0", "trust_12", "pcp_visits", "clinician_id"))
  tr$change <- tr$trust_12 - tr$trust_0
  pa <- complete(d, c("pacic_0", "pacic_12", "clinician_id"))
  re <- complete(d, c("recommend_definitely_0", "recommend_definitely_12", "clinician_id"))
  list(
    trust = list(
      n = n_by_arm(tr),
      mixed = mixed_fit(tr, change ~ arm + pcp_visits + (1 | clinician_id)),
      ancova = lm_fit(tr, trust_12 ~ arm + trust_0 + pcp_visits),
      t_test = t_fit(tr$change, tr$arm, FALSE)
    ),
    pacic = list(
      n = n_by_arm(pa),
      gee = gee_fit(pa, pacic_12 ~ arm, gaussian()),
      gee_adjusted = gee_fit(pa, pacic_12 ~ arm + pacic_0, gaussian())
    ),
    recommend = list(
      n = n_by_arm(re),
      events = list(coaching = sum(re$recommend_definitely_12[re$arm == "coaching"]),
                    usual_care = sum(re$recommend_definitely_12[re$arm == "usual_care"])),
      gee = gee_fit(re, recommend_definitely_12 ~ arm, binomial()),
      gee_adjusted = gee_fit(re, recommend_definitely_12 ~ arm + recommend_definitely_0, binomial())
    )
  )
}

# Variance of the t test's difference under the fitted random-intercept model, relative to the
# variance the t test assumes, by dense algebra.
variance_ratio <- function(d, tau2, sigma2) {
  x <- as.numeric(d$arm == "coaching")
  x <- x - mean(x)
  Z <- model.matrix(~ 0 + factor(d$clinician_id))
  V <- sigma2 * diag(nrow(d)) + tau2 * Z %*% t(Z)
  true_var <- drop(t(x) %*% V %*% x) / sum(x^2)^2
  true_var / ((tau2 + sigma2) / sum(x^2))
}

visits_block <- function(name) {
  d <- read_fixture(name)
  out <- list()
  for (item in c("demanding", "adequate_time")) {
    v <- complete(d, c(item, "clinician_id"))
    f <- as.formula(paste(item, "~ arm"))
    mixed <- mixed_fit(v, as.formula(paste(item, "~ arm + (1 | clinician_id)")))
    sizes <- as.vector(table(v$clinician_id))
    out[[item]] <- list(
      n = n_by_arm(v),
      n_clusters = length(sizes),
      cluster_size_weighted = sum(sizes^2) / sum(sizes),
      t_test = t_fit(v[[item]], v$arm, TRUE),
      mixed = mixed,
      cr1 = lm_fit(v, f, cluster = TRUE),
      cr2 = cr2_fit(v, f),
      gee = gee_fit(v, f, gaussian()),
      gee_md = gee_fit(v, f, gaussian(), md = TRUE),
      variance_ratio_t = variance_ratio(v, mixed$tau2, mixed$sigma2)
    )
  }
  out
}

pkgs <- c("jsonlite", "lme4", "lmerTest", "geepack", "sandwich", "lmtest", "clubSandwich")
result <- list(
  R_version = R.version.string,
  packages = setNames(lapply(pkgs, function(p) as.character(packageVersion(p))), pkgs),
  fixtures = list(
    patients = patients_block("patients"),
    unbalanced = patients_block("unbalanced"),
    small = patients_block("small"),
    visits = visits_block("visits"),
    visits_few = visits_block("visits_few")
  )
)
writeLines(toJSON(result, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           file.path(here, "questionnaires.json"))
