# R reference values for regression to the mean after selection on a baseline value
# (src/coachstats/compare/regression_to_mean.py).
#
# Regenerate (from the repository root):
#     python tests/reference/make_rtm_data.py        # the CSV fixture, fixed seeds
#     Rscript tests/reference/regression_to_mean.R   # writes tests/reference/regression_to_mean.json
#
# R functions matched, for a bivariate normal (X, Y) with common mean mu, SD sigma and
# correlation rho = 1 - sigma_w^2 / sigma^2, selected on X > c:
# - E[X | X > c]: truncnorm::etruncnorm(a = c, mean = mu, sd = sigma); the expected change
#   -(1 - rho) (E[X | X > c] - mu);
# - P(Y <= g | X > c): mvtnorm::pmvnorm over (c, Inf) x (-Inf, g) / pnorm(c, lower = FALSE);
# - P(X - Y >= k | X > c): the same for (X, D = X - Y), cov(X, D) = sigma^2 (1 - rho);
# - per baseline x: E[Y - X | X = x] and P(Y <= g | X = x) from dnorm/pnorm of the conditional
#   normal N(mu + rho (x - mu), sigma^2 (1 - rho^2));
# - the maximum-likelihood normal truncated below at c: optim (BFGS) on
#   -sum(log(truncnorm::dtruncnorm(x, a = c, mean, sd))).

suppressPackageStartupMessages({
  library(jsonlite)
  library(mvtnorm)
  library(truncnorm)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

models <- list(
  list(name = "hcpc_like", mean = 8.0, sd = 1.6, threshold = 8.05, within_sd = 0.8, goal = 8.05, drop = 1.0),
  list(name = "peer_like", mean = 8.9, sd = 2.0, threshold = 7.95, within_sd = 0.75, goal = 7.45, drop = 0.95),
  list(name = "far_tail", mean = 7.2, sd = 1.1, threshold = 10.0, within_sd = 0.6, goal = 9.0, drop = 2.0)
)
set.seed(1)  # pmvnorm's Genz algorithm is randomized; bivariate cases are computed exactly
out <- list(models = list(), fits = list())
for (m in models) {
  s2 <- m$sd^2
  rho <- 1 - m$within_sd^2 / s2
  p_sel <- pnorm(m$threshold, m$mean, m$sd, lower.tail = FALSE)
  e_sel <- etruncnorm(a = m$threshold, b = Inf, mean = m$mean, sd = m$sd)
  below <- pmvnorm(lower = c(m$threshold, -Inf), upper = c(Inf, m$goal),
                   mean = c(m$mean, m$mean), sigma = matrix(c(s2, rho * s2, rho * s2, s2), 2))
  cov_d <- s2 * (1 - rho)
  drop <- pmvnorm(lower = c(m$threshold, m$drop), upper = c(Inf, Inf),
                  mean = c(m$mean, 0), sigma = matrix(c(s2, cov_d, cov_d, 2 * cov_d), 2))
  xs <- c(8.1, 9.3, 12.0)
  cond_mean <- m$mean + rho * (xs - m$mean)
  cond_sd <- m$sd * sqrt(1 - rho^2)
  out$models[[m$name]] <- list(
    baselines = xs, change_given = cond_mean - xs,
    below_given = pnorm(m$goal, cond_mean, cond_sd),
    mean = m$mean, sd = m$sd, threshold = m$threshold, within_sd = m$within_sd,
    goal = m$goal, drop = m$drop, reliability = rho, selected_mean = e_sel,
    expected_change = -(1 - rho) * (e_sel - m$mean),
    share_below = as.numeric(below) / p_sel, share_dropping = as.numeric(drop) / p_sel
  )
}
sel <- read.csv(file.path(here, "data", "rtm_selected.csv"))
for (name in unique(sel$set)) {
  d <- sel[sel$set == name, ]
  c0 <- d$threshold[1]
  nll <- function(th) -sum(log(dtruncnorm(d$value, a = c0, b = Inf, mean = th[1], sd = exp(th[2]))))
  fit <- optim(c(mean(d$value), log(sd(d$value))), nll, method = "BFGS",
               control = list(reltol = 1e-14, maxit = 10000))
  out$fits[[name]] <- list(threshold = c0, n = nrow(d), mean = fit$par[1], sd = exp(fit$par[2]),
                           convergence = fit$convergence)
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "regression_to_mean.json"))
