# Reference values for the Mancl-DeRouen bias-corrected GEE sandwich
# (coachstats: gee(..., small_sample="MD"); compare/gee.py, _mancl_derouen_scores).
#
# Regenerate from the repository root (fixtures from tests/reference/make_models_data.py):
#     Rscript tests/reference/gee_md.R   # writes tests/reference/gee_md.json
#
# Packages: jsonlite, geepack. No packaged R implementation of the correction is
# available here (geesmv is not in Debian), so it is computed below from the
# geeglm fit with dense per-cluster matrices, exactly as Mancl & DeRouen (2001,
# Biometrics 57:126-134) define it:
#     V_MD = B^-1 [sum_i D_i' V_i^-1 (I - H_ii)^-1 e_i e_i' (I - H_ii)^-T V_i^-1 D_i] B^-1,
#     B = sum_i D_i' V_i^-1 D_i,   H_ii = D_i B^-1 D_i' V_i^-1,
# with D_i = dmu/dbeta, V_i = phi A_i^1/2 R(alpha) A_i^1/2 at geeglm's estimates
# (alpha, phi from geepack's moment equations), e_i = y_i - mu_i. Without the
# (I - H_ii)^-1 factor this is geeglm's own robust covariance, which the script
# checks first (so the dense algebra is the same model as geepack's).
# Models: goal (binomial, logit) and hba1c_change (gaussian) on the arm, exchangeable,
# complete cases, data sorted by clinic; geese.control(epsilon = 1e-10, maxit = 200).
suppressPackageStartupMessages({
  library(jsonlite)
  library(geepack)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("--file=", "", grep("--file=", args, value = TRUE))
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

md_block <- function(d, outcome, fam) {
  dd <- d[complete.cases(d[, c(outcome, "arm", "clinic")]), ]
  dd <- dd[order(dd$clinic), ]
  dd$treat <- as.integer(dd$arm == "coaching")
  dd$cid <- as.integer(factor(dd$clinic))
  fit <- geeglm(as.formula(paste(outcome, "~ treat")), id = cid, data = dd, family = fam,
                corstr = "exchangeable", control = geese.control(epsilon = 1e-10, maxit = 200))
  X <- model.matrix(fit)
  beta <- coef(fit)
  eta <- drop(X %*% beta)
  mu <- fam$linkinv(eta)
  dmu <- fam$mu.eta(eta)
  v <- fam$variance(mu)
  alpha <- fit$geese$alpha
  phi <- fit$geese$gamma
  y <- dd[[outcome]]
  B <- matrix(0, ncol(X), ncol(X))
  parts <- list()
  for (g in unique(dd$cid)) {
    idx <- which(dd$cid == g)
    m <- length(idx)
    R <- matrix(alpha, m, m)
    diag(R) <- 1
    A <- diag(sqrt(v[idx]), m)
    Vi <- solve(phi * A %*% R %*% A)
    Di <- dmu[idx] * X[idx, , drop = FALSE]
    B <- B + t(Di) %*% Vi %*% Di
    parts[[length(parts) + 1]] <- list(D = Di, Vi = Vi, e = y[idx] - mu[idx])
  }
  Binv <- solve(B)
  meat <- meat_md <- matrix(0, ncol(X), ncol(X))
  for (p in parts) {
    u <- t(p$D) %*% p$Vi %*% p$e
    H <- p$D %*% Binv %*% t(p$D) %*% p$Vi
    u_md <- t(p$D) %*% p$Vi %*% solve(diag(nrow(H)) - H, p$e)
    meat <- meat + u %*% t(u)
    meat_md <- meat_md + u_md %*% t(u_md)
  }
  robust <- Binv %*% meat %*% Binv
  md <- Binv %*% meat_md %*% Binv
  stopifnot(max(abs(robust - fit$geese$vbeta)) < 1e-8 * max(abs(fit$geese$vbeta)))
  list(
    n = nrow(dd), n_clusters = length(parts), estimate = unname(beta[["treat"]]),
    robust_se = sqrt(robust[2, 2]), md_se = sqrt(md[2, 2]),
    md_se_intercept = sqrt(md[1, 1]), alpha = alpha, scale = phi
  )
}

out <- list()
for (name in c("few", "small", "many")) {
  d <- read.csv(file.path(here, "data", paste0("models_", name, ".csv")), stringsAsFactors = FALSE)
  out[[name]] <- list(
    binomial = md_block(d, "goal", binomial()),
    gaussian = md_block(d, "hba1c_change", gaussian())
  )
}
out$versions <- list(R = R.version.string, geepack = as.character(packageVersion("geepack")))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(here, "gee_md.json"))
