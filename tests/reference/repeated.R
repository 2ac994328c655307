# Reference values for coachstats.compare.mmrm and coachstats.compare.slopes.
#
# MMRM: nlme::gls with an unstructured covariance (corSymm over the visit index,
# varIdent by visit), REML, on the follow-up visits with covariates by visit (or
# as main effects); adjusted means and the arm difference at each visit from
# emmeans. The mmrm package is not installable here (CRAN's current version
# needs R >= 4.3; this machine has R 4.2 and no network to CRAN's archive).
#
# Satterthwaite df of the MMRM: computed here as lmerTest does for lmer fits, by
# numerical differentiation (numDeriv): the REML log-likelihood of the model
# with Sigma's elements as parameters (written out below, checked against
# logLik(gls)), maximized from gls's estimate, its Hessian H, A = 2 H^-1 (of the
# deviance), and the gradient g of L C(Sigma) L' for each of emmeans' linear
# functions L: df = 2 (L C L')^2 / (g' A g). emmeans' own df for gls
# (mode = "satterthwaite") are stored too ("emmeans_df") but are not a
# reference: they use nlme's apVar, a finite-difference approximation of the
# same Hessian, and differ from the exact value by a few percent (e.g. 357.1 vs
# 369.0 for the HCPC visit-12 contrast, where 369 = 372 - 3 is exact: every
# subject is seen at month 12 and the visit-12 means then reduce to a regression
# on that visit alone).
#
# Random slopes: lme4::lmer(value ~ arm * year + (1 + year | patient_id),
# REML = TRUE) with lmerTest's Satterthwaite df (summary and contest).
#
# Regenerate (from the repository root):
#   PYTHONPATH=src python tests/reference/make_repeated_data.py
#   Rscript tests/reference/repeated.R      # rewrites repeated.json

suppressPackageStartupMessages({
  library(nlme)
  library(emmeans)
  library(lmerTest)
  library(numDeriv)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
data_dir <- file.path(here, "data")

read_long <- function(name) {
  d <- read.csv(file.path(data_dir, name), stringsAsFactors = FALSE)
  d$arm <- factor(d$arm, levels = c("usual_care", "coaching"))
  d[order(d$patient_id, d$month), ]
}

reml_vech <- function(d, X, months) {
  # -REML as a function of vech(Sigma) (row-wise lower triangle, as coachstats)
  ids <- split(seq_len(nrow(d)), d$patient_id)
  vis <- match(d$month, months)
  Xs <- lapply(ids, function(g) X[g, , drop = FALSE])
  ys <- lapply(ids, function(g) d$value[g])
  vs <- lapply(ids, function(g) vis[g])
  nv <- length(months)
  low <- which(lower.tri(diag(nv), diag = TRUE), arr.ind = TRUE)
  low <- low[order(low[, 1], low[, 2]), , drop = FALSE]
  to_sigma <- function(phi) {
    S <- matrix(0, nv, nv)
    S[low] <- phi
    S + t(S) - diag(diag(S))
  }
  parts <- function(phi) {
    S <- to_sigma(phi)
    XtWX <- 0; XtWy <- 0; ld <- 0
    W <- vector("list", length(ids))
    for (k in seq_along(ids)) {
      Sg <- S[vs[[k]], vs[[k]], drop = FALSE]
      ch <- chol(Sg)
      W[[k]] <- chol2inv(ch)
      ld <- ld + 2 * sum(log(diag(ch)))
      XtWX <- XtWX + crossprod(Xs[[k]], W[[k]] %*% Xs[[k]])
      XtWy <- XtWy + crossprod(Xs[[k]], W[[k]] %*% ys[[k]])
    }
    C <- solve(XtWX)
    b <- C %*% XtWy
    q <- 0
    for (k in seq_along(ids)) {
      r <- ys[[k]] - Xs[[k]] %*% b
      q <- q + sum(r * (W[[k]] %*% r))
    }
    ll <- -0.5 * ((nrow(X) - ncol(X)) * log(2 * pi) + ld +
                    as.numeric(determinant(XtWX)$modulus) + q)
    list(ll = ll, C = C)
  }
  list(parts = parts, low = low)
}

fit_mmrm <- function(d, months, by_visit, main) {
  d <- d[d$month %in% months, ]
  d <- d[complete.cases(d[, c("value", by_visit, main)]), ]
  d$visit <- factor(d$month, levels = months)
  d$vnum <- as.integer(d$visit)
  rhs <- c("arm * visit", if (length(by_visit)) paste0(by_visit, ":visit"), main)
  form <- as.formula(paste("value ~", paste(rhs, collapse = " + ")))
  # do.call puts the formula itself into the call, which emmeans re-evaluates
  fit <- do.call(gls, list(model = form, data = d,
                           correlation = corSymm(form = ~ vnum | patient_id),
                           weights = varIdent(form = ~ 1 | visit), method = "REML",
                           control = glsControl(natural = FALSE, tolerance = 1e-10,
                                                msTol = 1e-10)))
  em <- emmeans(fit, ~ arm | visit, mode = "satterthwaite", data = d)
  means <- as.data.frame(summary(em))
  con <- contrast(em, "revpairwise")
  cons <- as.data.frame(summary(con, infer = TRUE))
  full <- names(which(table(d$patient_id) == length(months)))[1]
  sigma <- unclass(getVarCov(fit, individual = full))
  # Satterthwaite by numerical differentiation (see the header)
  X <- model.matrix(form, d)
  stopifnot(identical(colnames(X), names(coef(fit))))
  r <- reml_vech(d, X, months)
  phi0 <- sigma[r$low]
  opt <- optim(phi0, function(p) -r$parts(p)$ll, method = "BFGS",
               control = list(reltol = 1e-15, maxit = 500, parscale = abs(phi0) + 1))
  stopifnot(abs(r$parts(phi0)$ll - as.numeric(logLik(fit))) < 1e-6)
  H <- numDeriv::hessian(function(p) -2 * r$parts(p)$ll, opt$par)
  A <- 2 * solve(H)
  satt <- function(L) apply(L, 1, function(l) {
    v <- function(p) as.numeric(t(l) %*% r$parts(p)$C %*% l)
    g <- numDeriv::grad(v, opt$par)
    2 * v(opt$par)^2 / as.numeric(t(g) %*% A %*% g)
  })
  list(
    n_obs = nrow(d), n_subjects = length(unique(d$patient_id)),
    loglik = as.numeric(logLik(fit)), aic = AIC(fit), bic = BIC(fit),
    sigma = unname(sigma),
    means = list(arm = as.character(means$arm), visit = as.numeric(as.character(means$visit)),
                 estimate = means$emmean, std_error = means$SE, df = satt(em@linfct),
                 emmeans_df = means$df),
    contrasts = list(visit = as.numeric(as.character(cons$visit)), estimate = cons$estimate,
                     std_error = cons$SE, df = satt(con@linfct), emmeans_df = cons$df,
                     emmeans_p_value = cons$p.value)
  )
}

fit_slopes <- function(d, at) {
  fit <- lmer(value ~ arm * year + (1 + year | patient_id), data = d, REML = TRUE,
              control = lmerControl(optCtrl = list(xtol_abs = 1e-10, ftol_abs = 1e-12)))
  co <- coef(summary(fit))
  vc <- as.data.frame(VarCorr(fit))
  diffs <- lapply(at, function(t) {
    L <- matrix(c(0, 1, 0, t), nrow = 1)
    ct <- contest(fit, L, joint = FALSE)
    list(time = t, estimate = ct$Estimate, std_error = ct$"Std. Error", df = ct$df,
         p_value = ct$"Pr(>|t|)")
  })
  list(
    n_obs = nrow(d), loglik = as.numeric(logLik(fit)), singular = isSingular(fit),
    terms = rownames(co), estimate = unname(co[, "Estimate"]),
    std_error = unname(co[, "Std. Error"]), df = unname(co[, "df"]),
    p_value = unname(co[, "Pr(>|t|)"]),
    sd_intercept = vc$sdcor[1], sd_slope = vc$sdcor[2], correlation = vc$sdcor[3],
    sigma = vc$sdcor[4],
    at = diffs
  )
}

hcpc <- lapply(c(sbp = "sbp", ldl = "ldl", hba1c = "hba1c"), function(m) {
  d <- read_long(paste0("repeated_hcpc_", m, ".csv"))
  list(
    mmrm = fit_mmrm(d, c(12, 24), "baseline", character(0)),
    slopes = fit_slopes(d, c(1, 2))
  )
})
sim <- read_long("repeated_sim.csv")
out <- list(
  versions = list(R = as.character(getRversion()),
                  nlme = as.character(packageVersion("nlme")),
                  emmeans = as.character(packageVersion("emmeans")),
                  lme4 = as.character(packageVersion("lme4")),
                  lmerTest = as.character(packageVersion("lmerTest"))),
  hcpc = hcpc,
  sim = list(
    mmrm_by_visit = fit_mmrm(sim, c(3, 6, 9, 12), "baseline", "age"),
    mmrm_main = fit_mmrm(sim, c(3, 6, 9, 12), character(0), c("baseline", "age")),
    slopes = fit_slopes(sim, c(0.5, 1))
  )
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "repeated.json"))
