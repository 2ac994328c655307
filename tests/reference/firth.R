# Reference values for Firth's penalized logistic regression
# (coachstats.compare.firth; logistic(..., firth=True)).
#
# Regenerate from the repository root (fixtures from tests/reference/make_models_data.py):
#     Rscript tests/reference/firth.R   # writes tests/reference/firth.json
#
# Packages: jsonlite, brglm2 (Debian: r-cran-brglm2). logistf, the usual R
# package for Firth's method, is not packaged for Debian, so:
# - the estimates and the Wald SEs come from brglm2::brglmFit with
#   type = "AS_mean" (Kosmidis & Firth 2009: for the canonical logit link, the
#   mean bias-reducing adjusted score is Firth's (1993) modified score);
# - the penalized likelihood ratio test of the arm coefficient and its profile
#   penalized likelihood interval (Heinze & Schemper 2002, what logistf reports)
#   are computed here from the penalized log-likelihood
#       l*(beta) = sum(y log p + (1 - y) log(1 - p)) + 0.5 log det(X' W X),
#   always with the full model's X in the penalty (as logistf does), maximised
#   with beta_arm held fixed by optim(BFGS, reltol 1e-16, restarted once, with
#   the gradient of l*) from the brglm2 solution, and uniroot (tol 1e-12) for
#   the interval limits.
# Cases: the small fixture (40 patients, a cell below 5), crude and adjusted for
# age; and the same data with every coached patient at goal (complete
# separation on the arm: glm diverges, Firth stays finite).
suppressPackageStartupMessages({
  library(jsonlite)
  library(brglm2)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("--file=", "", grep("--file=", args, value = TRUE))
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

pen_loglik <- function(beta, X, y) {
  eta <- drop(X %*% beta)
  p <- plogis(eta)
  w <- p * (1 - p)
  sum(dbinom(y, 1, p, log = TRUE)) + 0.5 * determinant(crossprod(X * sqrt(w)))$modulus[1]
}

# Gradient of l*: Firth's (1993) modified score X'(y - p + h (1/2 - p)), h the hat diagonal.
pen_score <- function(beta, X, y) {
  p <- plogis(drop(X %*% beta))
  Xw <- X * sqrt(p * (1 - p))
  h <- rowSums(qr.Q(qr(Xw))^2)  # the hat diagonal, without inverting X'WX
  drop(crossprod(X, y - p + h * (0.5 - p)))
}

restricted_max <- function(b, j, start, X, y) {
  free <- setdiff(seq_len(ncol(X)), j)
  full <- function(theta) {
    beta <- numeric(ncol(X))
    beta[j] <- b
    beta[free] <- theta
    beta
  }
  f <- function(theta) -pen_loglik(full(theta), X, y)
  g <- function(theta) -pen_score(full(theta), X, y)[free]
  fit <- optim(start[free], f, g, method = "BFGS", control = list(reltol = 1e-16, maxit = 10000))
  fit <- optim(fit$par, f, g, method = "BFGS", control = list(reltol = 1e-16, maxit = 10000))
  -fit$value
}

block <- function(d, adjusted) {
  cols <- c("goal", "arm", if (adjusted) "age")
  dd <- d[complete.cases(d[, cols]), ]
  dd$treat <- as.integer(dd$arm == "coaching")
  # age centred: the arm coefficient, the LR statistic and the interval do not change
  # (log det I moves by a constant), and BFGS's trial steps stay where I is invertible
  if (adjusted) dd$age <- dd$age - mean(dd$age)
  f <- if (adjusted) goal ~ treat + age else goal ~ treat
  fit <- glm(f, family = binomial, data = dd, method = "brglmFit", type = "AS_mean",
             control = list(epsilon = 1e-14, maxit = 200))
  X <- model.matrix(fit)
  y <- dd$goal
  b <- coef(fit)
  j <- which(names(b) == "treat")
  lmax <- pen_loglik(b, X, y)
  chisq <- 2 * (lmax - restricted_max(0, j, b, X, y))
  crit <- qchisq(0.95, 1)
  prof <- function(v) 2 * (lmax - restricted_max(v, j, b, X, y)) - crit
  se <- sqrt(diag(vcov(fit)))
  lo <- uniroot(prof, c(b[j] - 20 * se[j], b[j]), tol = 1e-12)$root
  hi <- uniroot(prof, c(b[j], b[j] + 20 * se[j]), tol = 1e-12)$root
  list(
    n = nrow(dd), events = sum(y),
    names = names(b), coef = unname(b), se = unname(se),
    log_or = unname(b[j]), log_or_se = unname(se[j]),
    lr_chisq = chisq, lr_p = pchisq(chisq, 1, lower.tail = FALSE),
    log_conf_low = lo, log_conf_high = hi
  )
}

d <- read.csv(file.path(here, "data", "models_small.csv"), stringsAsFactors = FALSE)
sep <- d
sep$goal[sep$arm == "coaching" & !is.na(sep$goal)] <- 1L
out <- list(
  small = list(crude = block(d, FALSE), adjusted = block(d, TRUE)),
  separated = list(crude = block(sep, FALSE), adjusted = block(sep, TRUE)),
  versions = list(R = R.version.string, brglm2 = as.character(packageVersion("brglm2")))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(here, "firth.json"))
