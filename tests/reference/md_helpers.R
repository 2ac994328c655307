# The Mancl-DeRouen (2001, Biometrics 57:126-134) bias-corrected GEE sandwich,
# computed from a geepack::geeglm fit with dense per-cluster matrices. Sourced by
# gee_md.R and questionnaires.R (no packaged R implementation is available here).
#
#     V_MD = B^-1 [sum_i D_i' V_i^-1 (I - H_ii)^-1 e_i e_i' (I - H_ii)^-T V_i^-1 D_i] B^-1,
#     B = sum_i D_i' V_i^-1 D_i,   H_ii = D_i B^-1 D_i' V_i^-1,
#
# with D_i = dmu/dbeta, V_i = phi A_i^1/2 R(alpha) A_i^1/2 at geeglm's estimates,
# e_i = y_i - mu_i. Returns the robust covariance without the correction (which the
# callers check against geeglm's own) and with it. `fit` must be an exchangeable
# geeglm fit whose data are sorted by `id`.
mancl_derouen <- function(fit, y, id) {
  fam <- fit$family
  X <- model.matrix(fit)
  eta <- drop(X %*% coef(fit))
  mu <- fam$linkinv(eta)
  dmu <- fam$mu.eta(eta)
  v <- fam$variance(mu)
  alpha <- fit$geese$alpha
  phi <- fit$geese$gamma
  B <- matrix(0, ncol(X), ncol(X))
  parts <- list()
  for (g in unique(id)) {
    idx <- which(id == g)
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
  stopifnot(max(abs(robust - fit$geese$vbeta)) < 1e-8 * max(abs(fit$geese$vbeta)))
  list(robust = robust, md = Binv %*% meat_md %*% Binv, n_clusters = length(parts))
}
