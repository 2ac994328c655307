# Reference values for coachstats.compare.sensitivity (delta-adjusted multiple
# imputation and tipping points).
#
# 1. shift: the imputations of missing_imputed_mar.csv (made by coachstats,
#    m = 5, seed 20240501; see make_missing_data.py) with the imputed hba1c_12
#    values shifted by (delta_coaching, delta_usual_care), analysed with lm and
#    pooled by mice::pool. Deterministic: checks the shift and the pooling.
# 2. post: mice's own delta adjustment inside the chained equations on
#    missing_mar.csv (post = "imp[[j]][, i] <- imp[[j]][, i] + delta" per arm for
#    hba1c_12, pmm), and a log-odds shift for goal_met (mice.impute.logreg with an
#    offset on the linear predictor of the imputed patients: mice has no built-in
#    version, the function below is mice.impute.logreg with that one change).
#    Random: compared in distribution (m = 50).
# 3. counts: the enumeration tipping point of the HCPC composite (nnt_hcpc.csv):
#    chisq.test(correct = FALSE) and the Wald risk difference on every completion.
#
# Regenerate (from the repository root):
#   Rscript tests/reference/sensitivity.R      # rewrites sensitivity.json

suppressPackageStartupMessages({
  library(mice)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
data_dir <- file.path(here, "data")

read_fixture <- function(name) {
  d <- read.csv(file.path(data_dir, name), stringsAsFactors = FALSE)
  d$arm <- factor(d$arm, levels = c("usual_care", "coaching"))
  if ("sex" %in% names(d)) d$sex <- factor(d$sex)
  d
}

pooled_arm <- function(fits, dfcom = NULL) {
  p <- pool(as.mira(fits), dfcom = dfcom)
  s <- summary(p, conf.int = TRUE)
  k <- which(as.character(p$pooled$term) == "armcoaching")
  list(estimate = p$pooled$estimate[k], std_error = s$std.error[k], df = p$pooled$df[k],
       p_value = s$p.value[k], conf_low = s[["2.5 %"]][k], conf_high = s[["97.5 %"]][k],
       b = p$pooled$b[k], t = p$pooled$t[k], m = p$pooled$m[k],
       var_u = var(sapply(fits, function(f) diag(vcov(f))["armcoaching"])))
}

# ---------------------------------------------------------------- 1. shift
mar <- read_fixture("missing_mar.csv")
long <- read_fixture("missing_imputed_mar.csv")
was_missing <- is.na(mar$hba1c_12)
SHIFTS <- list(c(0, 0), c(0.5, 0), c(1, -0.5), c(-0.8, 0.3), c(2, 2))
shift <- lapply(SHIFTS, function(delta) {
  fits <- lapply(split(long, long$.imp), function(d) {
    d <- d[order(d$.id), ]
    add <- ifelse(d$arm == "coaching", delta[1], delta[2]) * was_missing
    d$hba1c_12 <- d$hba1c_12 + add
    lm(hba1c_12 ~ arm + hba1c_0 + age, data = d)
  })
  c(list(delta_coaching = delta[1], delta_usual_care = delta[2]), pooled_arm(fits))
})

# ---------------------------------------------------------------- 2. post (in distribution)
mice.impute.logregdelta <- function(y, ry, x, wy = NULL, ...) {
  # mice.impute.logreg (mice 3.15) with an offset of the log-odds per arm
  if (is.null(wy)) wy <- !ry
  arm_x <- x[, "armcoaching"]
  aug <- mice:::augment(y, ry, x, wy)
  x <- aug$x
  y <- aug$y
  ry <- aug$ry
  wy <- aug$wy
  w <- aug$w
  x <- cbind(1, as.matrix(x))
  fit <- glm.fit(x = x[ry, , drop = FALSE], y = y[ry],
                 family = quasibinomial(link = logit), weights = w[ry])
  fit.sum <- summary.glm(fit)
  beta <- coef(fit)
  rv <- t(chol(mice:::sym(fit.sum$cov.unscaled)))
  beta.star <- beta + rv %*% rnorm(ncol(rv))
  n_orig <- length(arm_x)
  offset <- ifelse(arm_x[wy[seq_len(n_orig)]] == 1, GOAL_DELTA[1], GOAL_DELTA[2])
  p <- 1 / (1 + exp(-(x[wy, , drop = FALSE] %*% beta.star + offset)))
  vec <- (runif(nrow(p)) <= p)
  vec[vec] <- 1
  if (is.factor(y)) vec <- factor(vec, c(0, 1), levels(y))
  vec
}

A1C_DELTA <- c(1.0, -0.5)    # coaching, usual care (HbA1c points)
GOAL_DELTA <- c(-1.0, 0.5)   # coaching, usual care (log-odds of goal_met)
M <- 50L
MAXIT <- 10L
vars <- c("arm", "age", "sex", "hba1c_0", "bmi", "hba1c_12", "goal_met")
dd <- mar[, vars]
dd$goal_met <- factor(dd$goal_met)
meth <- c(arm = "", age = "", sex = "", hba1c_0 = "", bmi = "pmm", hba1c_12 = "pmm",
          goal_met = "logregdelta")
post <- make.post(dd)
post["hba1c_12"] <- paste0(
  "imp[[j]][, i] <- imp[[j]][, i] + ifelse(data$arm[where[, j]] == 'coaching', ",
  A1C_DELTA[1], ", ", A1C_DELTA[2], ")")
imp <- mice(dd, m = M, maxit = MAXIT, method = meth, post = post, seed = 2024L,
            printFlag = FALSE)
lm_fits <- lapply(seq_len(M), function(i)
  lm(hba1c_12 ~ arm + hba1c_0 + age, data = complete(imp, i)))
glm_fits <- lapply(seq_len(M), function(i)
  glm(goal_met ~ arm + hba1c_0 + age, family = binomial, data = complete(imp, i),
      control = glm.control(epsilon = 1e-12, maxit = 100)))
# the shift is really there: mean imputed hba1c_12 minus the MAR-free expectation
post_out <- list(
  hba1c_delta = A1C_DELTA, goal_delta = GOAL_DELTA, m = M, maxit = MAXIT,
  lm_hba1c = pooled_arm(lm_fits),
  glm_goal = pooled_arm(glm_fits)
)

# ---------------------------------------------------------------- 3. counts
h <- read.csv(file.path(data_dir, "nnt_hcpc.csv"), stringsAsFactors = FALSE)
y_t <- h$composite_any[h$arm == "coaching"]
y_c <- h$composite_any[h$arm == "usual_care"]
xt <- sum(y_t, na.rm = TRUE); nt <- sum(!is.na(y_t)); mt <- sum(is.na(y_t))
xc <- sum(y_c, na.rm = TRUE); nc <- sum(!is.na(y_c)); mc <- sum(is.na(y_c))
grid <- expand.grid(k_t = 0:mt, k_c = 0:mc)
res <- t(apply(grid, 1, function(k) {
  a <- xt + k[1]; na <- nt + mt; b <- xc + k[2]; nb <- nc + mc
  tab <- matrix(c(a, na - a, b, nb - b), 2, byrow = TRUE)
  p <- suppressWarnings(chisq.test(tab, correct = FALSE)$p.value)
  ci <- prop.test(c(a, b), c(na, nb), correct = FALSE)$conf.int
  c(a / na - b / nb, ci[1], ci[2], p)
}))
counts_out <- list(
  observed = list(x_t = xt, n_t = nt, missing_t = mt, x_c = xc, n_c = nc, missing_c = mc),
  k_t = grid$k_t, k_c = grid$k_c,
  estimate = res[, 1], conf_low = res[, 2], conf_high = res[, 3], p_value = res[, 4]
)

out <- list(
  versions = list(R = as.character(getRversion()), mice = as.character(packageVersion("mice"))),
  shift = shift, post = post_out, counts = counts_out
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "sensitivity.json"))
