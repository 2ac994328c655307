# Reference values for the full model output of coachstats.compare.models:
# coefficient tables, fit statistics, adjusted means, marginal risk difference
# and risk ratio, and interaction tests (issue 21, items 1 and 6).
#
# Regenerate from the repository root (the CSV fixtures are those of models.R,
# written by tests/reference/make_models_data.py):
#     Rscript tests/reference/model_output.R   # writes tests/reference/model_output.json
#
# Packages: jsonlite, sandwich, lmtest, car, clubSandwich, geepack, lme4, lmerTest, emmeans.
#
# What is matched:
# - Coefficient tables (estimate, SE, statistic, df, P, Wald interval): lm
#   (broom-style summary + confint), lm with sandwich::vcovCL(type = "HC1")
#   (lmtest::coeftest / coefci on the residual df), lm with clubSandwich CR2
#   (coef_test Satterthwaite + conf_int), glm (summary + confint.default, the
#   Wald interval: broom's default for glm is the profile interval, which is
#   another method), geeglm (robust SE, Wald z), lmer through lmerTest
#   (Satterthwaite df, interval estimate +- t quantile * SE).
# - Fit statistics: logLik, AIC, BIC, attr(logLik, "df"), df.residual, deviance,
#   sigma, nobs.
# - Adjusted means by arm: emmeans over the observed covariates. lm / lmer:
#   emmeans(fit, "armf", weights = "proportional") (lmer with lmer.df =
#   "satterthwaite"); with vcov. = vcovCL for the clustered lm. glm / geeglm
#   binomial: emmeans(fit, "armf", counterfactuals = "armf", regrid = "response"),
#   the average predicted probability with everyone set to each arm
#   (g-computation; marginaleffects::avg_predictions gives the same), and its
#   contrast (risk difference); the risk ratio from regrid = "log" (test and
#   interval on the log scale). Models with an arm interaction use the
#   counterfactual grid for every family.
# - Interaction tests: car::linearHypothesis (F for lm, with vcov. = vcovCL for
#   the clustered fit; chi-square for glm), the same Wald chi-square computed
#   from geepack's robust vcov, lmerTest::contest(joint = TRUE, ddf =
#   "Satterthwaite") for lmer.
# - Subgroup effects (the arm effect within each marital level of a model with
#   armf * marital): emmeans(fit, ~ armf | marital) contrasts for lm, glm (odds
#   ratios), lmer (Satterthwaite) and geeglm; for the marginal risk difference
#   within a level, the g-computation and delta method written out in R below
#   (predictions from model.matrix and coef, covariance from vcov).
# Optimizer and IRLS tolerances are tightened as in models.R.
suppressPackageStartupMessages({
  library(jsonlite)
  library(sandwich)
  library(lmtest)
  library(car)
  library(clubSandwich)
  library(geepack)
  library(lme4)
  library(lmerTest)
  library(emmeans)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("--file=", "", grep("--file=", args, value = TRUE))
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

glm_ctrl <- glm.control(epsilon = 1e-14, maxit = 100)
gee_ctrl <- geese.control(epsilon = 1e-10, maxit = 200)
lmer_ctrl <- lmerControl(
  optimizer = "nloptwrap",
  optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-15, xtol_rel = 1e-14, ftol_rel = 1e-15, maxeval = 1e5)
)
emm_options(rg.limit = 1e6)

read_fixture <- function(name) {
  d <- read.csv(file.path(here, "data", paste0("models_", name, ".csv")), stringsAsFactors = FALSE)
  d$armf <- factor(d$arm, levels = c("usual_care", "coaching"))
  d$marital <- factor(d$marital)
  d$insulin <- factor(d$insulin, levels = c("False", "True"))
  d
}

complete <- function(d, cols) d[complete.cases(d[, c(cols, "arm", "clinic")]), ]
vec <- function(x) unname(as.numeric(x))

table_of <- function(est, se, stat, df, p, lo, hi) {
  list(names = names(est), estimate = vec(est), se = vec(se), statistic = vec(stat),
       df = if (is.null(df)) NULL else vec(df), p = vec(p), low = vec(lo), high = vec(hi))
}

coef_table_t <- function(fit, V) {
  ct <- coeftest(fit, vcov. = V, df = df.residual(fit))
  ci <- coefci(fit, vcov. = V, df = df.residual(fit))
  table_of(ct[, 1], ct[, 2], ct[, 3], rep(df.residual(fit), nrow(ct)), ct[, 4], ci[, 1], ci[, 2])
}

coef_table_z <- function(est, V) {
  se <- sqrt(diag(V))
  z <- est / se
  q <- qnorm(0.975)
  table_of(est, se, z, NULL, 2 * pnorm(-abs(z)), est - q * se, est + q * se)
}

glance_of <- function(fit) {
  ll <- logLik(fit)
  list(loglik = as.numeric(ll), df = attr(ll, "df"), aic = AIC(fit), bic = BIC(fit),
       nobs = nobs(fit), df_residual = df.residual(fit),
       deviance = if (inherits(fit, "merMod")) NA else deviance(fit), sigma = sigma(fit))
}

emm_table <- function(em) {
  s <- as.data.frame(summary(em, infer = c(TRUE, FALSE)))
  lo <- if ("lower.CL" %in% names(s)) s$lower.CL else s$asymp.LCL
  hi <- if ("upper.CL" %in% names(s)) s$upper.CL else s$asymp.UCL
  est <- s[[setdiff(names(s), c("armf", "SE", "df", "lower.CL", "upper.CL", "asymp.LCL",
                                "asymp.UCL"))[1]]]
  list(arm = as.character(s$armf), estimate = est, se = s$SE, df = s$df, low = lo, high = hi)
}

contrast_table <- function(em, type = NULL) {
  ct <- contrast(em, "revpairwise")
  s <- as.data.frame(if (is.null(type)) summary(ct, infer = TRUE) else summary(ct, infer = TRUE, type = type))
  est <- if ("ratio" %in% names(s)) s$ratio else s$estimate
  lo <- if ("lower.CL" %in% names(s)) s$lower.CL else s$asymp.LCL
  hi <- if ("upper.CL" %in% names(s)) s$upper.CL else s$asymp.UCL
  stat <- if ("t.ratio" %in% names(s)) s$t.ratio else s$z.ratio
  list(estimate = est, se = s$SE, df = s$df, statistic = stat, p = s$p.value, low = lo, high = hi)
}

wald <- function(b, V, terms) {
  bb <- b[terms]
  Q <- drop(t(bb) %*% solve(V[terms, terms], bb))
  list(statistic = Q, df = length(terms), p = pchisq(Q, length(terms), lower.tail = FALSE))
}

hyp <- function(fit, terms, ...) {
  h <- linearHypothesis(fit, paste(terms, "= 0"), ...)
  last <- nrow(h)
  stat <- if ("F" %in% names(h)) h$F[last] else h$Chisq[last]
  p <- if ("F" %in% names(h)) h$`Pr(>F)`[last] else h$`Pr(>Chisq)`[last]
  list(statistic = stat, df = h$Df[last], df_denominator = if ("F" %in% names(h)) h$Res.Df[last] else NA,
       p = p)
}

# --------------------------------------------------------------------------- linear

linear_blocks <- function(d) {
  dd <- complete(d, c("hba1c_change", "age", "bmi", "marital", "insulin"))
  fit <- lm(hba1c_change ~ armf + age + bmi + marital + insulin, data = dd)
  VC <- vcovCL(fit, cluster = ~clinic, type = "HC1")
  cr2 <- coef_test(fit, vcov = "CR2", cluster = dd$clinic, test = "Satterthwaite")
  cr2ci <- conf_int(fit, vcov = "CR2", cluster = dd$clinic, level = 0.95)
  adjusted <- list(
    model = coef_table_t(fit, vcov(fit)),
    cr1 = coef_table_t(fit, VC),
    cr2 = table_of(setNames(cr2$beta, rownames(cr2)), cr2$SE, cr2$tstat, cr2$df_Satt,
                   cr2$p_Satt, cr2ci$CI_L, cr2ci$CI_U),
    glance = glance_of(fit),
    means = emm_table(emmeans(fit, "armf", weights = "proportional")),
    means_cr1 = emm_table(emmeans(fit, "armf", weights = "proportional", vcov. = VC)),
    difference = contrast_table(emmeans(fit, "armf", weights = "proportional"))
  )
  di <- complete(d, c("hba1c_change", "age", "marital", "insulin"))
  fi <- lm(hba1c_change ~ armf * insulin + age + marital, data = di)
  em_i <- emmeans(fi, "armf", counterfactuals = "armf")
  by_insulin <- list(
    model = coef_table_t(fi, vcov(fi)),
    test = hyp(fi, "armfcoaching:insulinTrue"),
    means = emm_table(em_i),
    difference = contrast_table(em_i)
  )
  fm <- lm(hba1c_change ~ armf * marital + age, data = di)
  VCm <- vcovCL(fm, cluster = ~clinic, type = "HC1")
  int_m <- c("armfcoaching:maritalsingle", "armfcoaching:maritalwidowed")
  by_marital <- list(
    model = coef_table_t(fm, vcov(fm)),
    test = hyp(fm, int_m),
    test_cr1 = hyp(fm, int_m, vcov. = VCm, test = "F"),
    glance = glance_of(fm)
  )
  fc <- lm(hba1c_change ~ armf + age * bmi, data = dd)
  list(adjusted = adjusted, by_insulin = by_insulin, by_marital = by_marital,
       covariate_product = list(model = coef_table_t(fc, vcov(fc))))
}

# --------------------------------------------------------------------------- logistic

logistic_blocks <- function(d) {
  dd <- complete(d, c("goal", "age", "bmi", "marital", "insulin"))
  fit <- glm(goal ~ armf + age + bmi + marital + insulin, family = binomial, data = dd,
             control = glm_ctrl)
  VC <- vcovCL(fit, cluster = ~clinic, type = "HC1")
  em <- emmeans(fit, "armf", counterfactuals = "armf", regrid = "response")
  em_cl <- emmeans(fit, "armf", counterfactuals = "armf", regrid = "response", vcov. = VC)
  adjusted <- list(
    model = coef_table_z(coef(fit), vcov(fit)),
    cr1 = coef_table_z(coef(fit), VC),
    glance = glance_of(fit),
    means = emm_table(em),
    means_cr1 = emm_table(em_cl),
    risk_difference = contrast_table(em),
    risk_difference_cr1 = contrast_table(em_cl),
    risk_ratio = contrast_table(emmeans(fit, "armf", counterfactuals = "armf", regrid = "log"),
                                type = "response"),
    risk_ratio_cr1 = contrast_table(emmeans(fit, "armf", counterfactuals = "armf",
                                            regrid = "log", vcov. = VC), type = "response")
  )
  di <- complete(d, c("goal", "age", "marital"))
  fm <- glm(goal ~ armf * marital + age, family = binomial, data = di, control = glm_ctrl)
  em_m <- emmeans(fm, "armf", counterfactuals = "armf", regrid = "response")
  by_marital <- list(
    model = coef_table_z(coef(fm), vcov(fm)),
    test = hyp(fm, c("armfcoaching:maritalsingle", "armfcoaching:maritalwidowed"), test = "Chisq"),
    means = emm_table(em_m),
    risk_difference = contrast_table(em_m),
    risk_ratio = contrast_table(emmeans(fm, "armf", counterfactuals = "armf", regrid = "log"),
                                type = "response")
  )
  # clinic fixed effects: clinics with the outcome all 0 or all 1 removed first
  m <- tapply(dd$goal, dd$clinic, mean)
  df_fe <- dd[!(dd$clinic %in% names(m)[m == 0 | m == 1]), ]
  ffe <- glm(goal ~ armf + age + bmi + marital + insulin + factor(clinic), family = binomial,
             data = df_fe, control = glm_ctrl)
  keep <- !grepl("^\\(Intercept\\)$|^factor\\(clinic\\)", names(coef(ffe)))
  em_fe <- emmeans(ffe, "armf", counterfactuals = "armf", regrid = "response")
  fixed_effects <- list(
    model = coef_table_z(coef(ffe)[keep], vcov(ffe)[keep, keep]),
    glance = glance_of(ffe),
    means = emm_table(em_fe),
    risk_difference = contrast_table(em_fe)
  )
  list(adjusted = adjusted, by_marital = by_marital, fixed_effects = fixed_effects)
}

# --------------------------------------------------------------------------- GEE

gee_blocks <- function(d) {
  out <- list()
  for (fam in c("gaussian", "binomial")) {
    outcome <- if (fam == "binomial") "goal" else "hba1c_change"
    dd <- complete(d, c(outcome, "age", "marital"))
    dd <- dd[order(dd$clinic), ]
    dd$cid <- as.integer(factor(dd$clinic))
    f <- as.formula(paste(outcome, "~ armf * marital + age"))
    fit <- geeglm(f, id = cid, data = dd, family = get(fam)(), corstr = "exchangeable",
                  control = gee_ctrl)
    V <- vcov(fit)
    em <- if (fam == "binomial") {
      emmeans(fit, "armf", counterfactuals = "armf", regrid = "response")
    } else {
      emmeans(fit, "armf", counterfactuals = "armf")
    }
    out[[fam]] <- list(
      model = coef_table_z(coef(fit), V),
      test = wald(coef(fit), V, c("armfcoaching:maritalsingle", "armfcoaching:maritalwidowed")),
      means = emm_table(em),
      difference = contrast_table(em)
    )
  }
  out
}

# --------------------------------------------------------------------------- mixed

mixed_table <- function(fit) {
  cf <- summary(fit, ddf = "Satterthwaite")$coefficients
  q <- qt(0.975, cf[, "df"])
  table_of(setNames(cf[, "Estimate"], rownames(cf)), cf[, "Std. Error"], cf[, "t value"],
           cf[, "df"], cf[, "Pr(>|t|)"], cf[, "Estimate"] - q * cf[, "Std. Error"],
           cf[, "Estimate"] + q * cf[, "Std. Error"])
}

mixed_blocks <- function(d) {
  dd <- complete(d, c("hba1c_change", "age", "bmi", "marital", "insulin"))
  out <- list()
  for (reml in c(TRUE, FALSE)) {
    fit <- lmerTest::lmer(hba1c_change ~ armf + age + bmi + marital + insulin + (1 | clinic),
                          data = dd, REML = reml, control = lmer_ctrl)
    em <- emmeans(fit, "armf", weights = "proportional", lmer.df = "satterthwaite")
    out[[if (reml) "reml" else "ml"]] <- list(
      model = mixed_table(fit), glance = glance_of(fit), means = emm_table(em),
      difference = contrast_table(em)
    )
  }
  di <- complete(d, c("hba1c_change", "age", "marital"))
  fm <- lmerTest::lmer(hba1c_change ~ armf * marital + age + (1 | clinic), data = di,
                       control = lmer_ctrl)
  names_b <- names(fixef(fm))
  L <- matrix(0, 2, length(names_b), dimnames = list(NULL, names_b))
  L[1, "armfcoaching:maritalsingle"] <- 1
  L[2, "armfcoaching:maritalwidowed"] <- 1
  ct <- contest(fm, L, joint = TRUE, ddf = "Satterthwaite")
  em_m <- emmeans(fm, "armf", weights = "proportional", lmer.df = "satterthwaite")
  out$by_marital <- list(
    model = mixed_table(fm),
    test = list(statistic = ct$`F value`, df = ct$NumDF, df_denominator = ct$DenDF,
                p = ct$`Pr(>F)`),
    means = emm_table(em_m)
  )
  out
}

# --------------------------------------------------------------------------- subgroups

# The arm effect within each marital level: emmeans(fit, ~ armf | marital) contrasts
# (odds ratios with type = "response"; the SE there is of the ratio).
by_level <- function(em, type = NULL) {
  ct <- contrast(em, "revpairwise")
  s <- as.data.frame(if (is.null(type)) summary(ct, infer = TRUE) else summary(ct, infer = TRUE, type = type))
  est <- if ("odds.ratio" %in% names(s)) s$odds.ratio else s$estimate
  lo <- if ("lower.CL" %in% names(s)) s$lower.CL else s$asymp.LCL
  hi <- if ("upper.CL" %in% names(s)) s$upper.CL else s$asymp.UCL
  stat <- if ("t.ratio" %in% names(s)) s$t.ratio else s$z.ratio
  list(level = as.character(s$marital), estimate = est, se = s$SE, df = s$df, statistic = stat,
       p = s$p.value, low = lo, high = hi)
}

# Marginal risk difference among the patients of each level, delta method, written out:
# predictions with every patient of the level set to each arm, gradient from the model matrix.
rd_by_level <- function(fit, d) {
  V <- vcov(fit)
  b <- coef(fit)
  out <- list(level = character(), estimate = numeric(), se = numeric())
  for (lev in levels(d$marital)) {
    sub <- d[d$marital == lev, ]
    X1 <- model.matrix(formula(fit), transform(sub, armf = factor("coaching", levels(d$armf))))
    X0 <- model.matrix(formula(fit), transform(sub, armf = factor("usual_care", levels(d$armf))))
    p1 <- plogis(drop(X1 %*% b))
    p0 <- plogis(drop(X0 %*% b))
    g <- colMeans(p1 * (1 - p1) * X1) - colMeans(p0 * (1 - p0) * X0)
    out$level <- c(out$level, lev)
    out$estimate <- c(out$estimate, mean(p1) - mean(p0))
    out$se <- c(out$se, sqrt(drop(t(g) %*% V %*% g)))
  }
  out
}

subgroup_blocks <- function(d) {
  dl <- complete(d, c("hba1c_change", "age", "marital"))
  fl <- lm(hba1c_change ~ armf * marital + age, data = dl)
  db <- complete(d, c("goal", "age", "marital"))
  fb <- glm(goal ~ armf * marital + age, family = binomial, data = db, control = glm_ctrl)
  fm <- lmerTest::lmer(hba1c_change ~ armf * marital + age + (1 | clinic), data = dl,
                       control = lmer_ctrl)
  dg <- dl[order(dl$clinic), ]
  dg$cid <- as.integer(factor(dg$clinic))
  fg <- geeglm(hba1c_change ~ armf * marital + age, id = cid, data = dg, family = gaussian(),
               corstr = "exchangeable", control = gee_ctrl)
  list(
    linear = by_level(emmeans(fl, ~ armf | marital)),
    logistic = by_level(emmeans(fb, ~ armf | marital), type = "response"),
    logistic_rd = rd_by_level(fb, db),
    mixed = by_level(emmeans(fm, ~ armf | marital, lmer.df = "satterthwaite")),
    gee = by_level(emmeans(fg, ~ armf | marital))
  )
}

fixture_block <- function(name) {
  d <- read_fixture(name)
  list(linear = linear_blocks(d), logistic = logistic_blocks(d), gee = gee_blocks(d),
       mixed = mixed_blocks(d), subgroups = subgroup_blocks(d))
}

pkgs <- c("jsonlite", "sandwich", "lmtest", "car", "clubSandwich", "geepack", "lme4", "lmerTest",
          "emmeans")
result <- list(
  R_version = R.version.string,
  packages = setNames(lapply(pkgs, function(p) as.character(packageVersion(p))), pkgs),
  fixtures = list(many = fixture_block("many"), few = fixture_block("few"))
)
writeLines(toJSON(result, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           file.path(here, "model_output.json"))
