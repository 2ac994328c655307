# R reference values for the two-arm comparisons of binary and continuous endpoints
# (src/coachstats/compare/{proportions,means,paired,multiplicity}.py).
#
# Regenerate (from the repository root):
#     python tests/reference/make_basic_data.py   # the CSV fixtures, fixed seeds
#     Rscript tests/reference/basic.R             # writes tests/reference/basic.json
#
# R functions matched: chisq.test(correct = TRUE/FALSE), prop.test(correct = TRUE/FALSE),
# fisher.test, t.test(var.equal = TRUE/FALSE), t.test(paired = TRUE), lm (+ confint),
# glm(binomial) with logit and log links (Woolf OR and log RR), mcnemar.test, binom.test,
# p.adjust. Formulas written out here (no R package implements them in base R): the
# Newcombe hybrid score interval (method 10 of Newcombe 1998, from Wilson intervals),
# the log-scale RR interval, Woolf's OR interval, the Wald interval of a paired
# difference in proportions, and a high-precision version of fisher.test's conditional
# MLE and exact interval (fisher.test solves them with uniroot's default tol, ~1.2e-4).
# Non-finite numbers are written as the strings "Inf", "-Inf", "NaN", "NA".

suppressPackageStartupMessages(library(jsonlite))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
data_dir <- file.path(here, "data")
read <- function(name) {
  read.csv(file.path(data_dir, paste0("basic_", name, ".csv")), stringsAsFactors = FALSE)
}

# ------------------------------------------------------------------ 2x2 helpers
wilson <- function(x, n, conf = 0.95) {
  z <- qnorm((1 + conf) / 2)
  centre <- x + z^2 / 2
  half <- z * sqrt(x * (n - x) / n + z^2 / 4)
  c((centre - half) / (n + z^2), (centre + half) / (n + z^2))
}

newcombe <- function(x1, n1, x2, n2, conf = 0.95) {
  p1 <- x1 / n1
  p2 <- x2 / n2
  w1 <- wilson(x1, n1, conf)
  w2 <- wilson(x2, n2, conf)
  d <- p1 - p2
  c(d - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2), d + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2))
}

# fisher.test's own algorithm (R 4.2 stats:::fisher.test, 2x2 case), with tight root finding
fisher_tight <- function(tab, conf = 0.95) {
  m <- sum(tab[, 1L]); n <- sum(tab[, 2L]); k <- sum(tab[1L, ]); x <- tab[1L, 1L]
  lo <- max(0L, k - n); hi <- min(k, m)
  support <- lo:hi
  logdc <- dhyper(support, m, n, k, log = TRUE)
  dn <- function(u) { d <- logdc + u * support; d <- exp(d - max(d)); d / sum(d) }
  lower_tail <- function(u) sum(dn(u)[support <= x])
  upper_tail <- function(u) sum(dn(u)[support >= x])
  mean_u <- function(u) sum(support * dn(u))
  root <- function(f) uniroot(f, c(-50, 50), tol = 1e-13, maxiter = 10000)$root
  alpha <- (1 - conf) / 2
  est <- if (x == lo) 0 else if (x == hi) Inf else exp(root(function(u) mean_u(u) - x))
  low <- if (x == lo) 0 else exp(root(function(u) upper_tail(u) - alpha))
  upp <- if (x == hi) Inf else exp(root(function(u) lower_tail(u) - alpha))
  list(estimate = est, conf_low = low, conf_high = upp)
}

htest <- function(h) {
  out <- list(p_value = unname(h$p.value))
  if (!is.null(h$statistic)) out$statistic <- unname(h$statistic)
  if (!is.null(h$parameter)) out$df <- unname(h$parameter)
  if (!is.null(h$estimate)) out$estimate <- unname(h$estimate)
  if (!is.null(h$conf.int)) {
    out$conf_low <- h$conf.int[1]
    out$conf_high <- h$conf.int[2]
  }
  if (!is.null(h$stderr)) out$std_error <- unname(h$stderr)
  out
}

wald_ratio <- function(log_est, se, conf = 0.95) {
  z <- qnorm((1 + conf) / 2)
  list(estimate = exp(log_est), std_error = se,
       conf_low = exp(log_est - z * se), conf_high = exp(log_est + z * se),
       statistic = log_est / se, p_value = 2 * pnorm(-abs(log_est / se)))
}

glm_arm <- function(x1, n1, x2, n2, link) {
  d <- data.frame(treat = c(1, 0), events = c(x1, x2), n = c(n1, n2))
  # default control: iterative, so the tests compare with it at 1e-6 (the closed forms
  # above are compared at 1e-8)
  fit <- glm(cbind(events, n - events) ~ treat, family = binomial(link = link), data = d)
  s <- summary(fit)$coefficients["treat", ]
  list(log_estimate = unname(s[1]), std_error = unname(s[2]))
}

two_by_two <- function(x1, n1, x2, n2, conf = 0.95) {
  x1 <- as.numeric(x1); n1 <- as.numeric(n1); x2 <- as.numeric(x2); n2 <- as.numeric(n2)
  tab <- matrix(c(x1, n1 - x1, x2, n2 - x2), 2, byrow = TRUE)
  p1 <- x1 / n1; p2 <- x2 / n2
  z <- qnorm((1 + conf) / 2)
  se_rd <- sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
  pooled <- (x1 + x2) / (n1 + n2)
  z_pooled <- (p1 - p2) / sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
  has_zero <- any(tab == 0)
  out <- list(
    x1 = x1, n1 = n1, x2 = x2, n2 = n2,
    chisq = htest(suppressWarnings(chisq.test(tab, correct = FALSE))),
    chisq_yates = htest(suppressWarnings(chisq.test(tab, correct = TRUE))),
    min_expected = min(outer(rowSums(tab), colSums(tab)) / sum(tab)),
    prop_test = htest(suppressWarnings(prop.test(c(x1, x2), c(n1, n2), correct = FALSE,
                                                 conf.level = conf))),
    prop_test_yates = htest(suppressWarnings(prop.test(c(x1, x2), c(n1, n2), correct = TRUE,
                                                       conf.level = conf))),
    z_pooled = list(statistic = z_pooled, p_value = 2 * pnorm(-abs(z_pooled))),
    rd_wald = list(estimate = p1 - p2, std_error = se_rd,
                   statistic = (p1 - p2) / se_rd, p_value = 2 * pnorm(-abs((p1 - p2) / se_rd))),
    newcombe = as.list(setNames(newcombe(x1, n1, x2, n2, conf), c("conf_low", "conf_high"))),
    fisher = htest(fisher.test(tab, conf.level = conf)),
    fisher_tight = fisher_tight(tab, conf)
  )
  h <- if (x1 == 0 || x2 == 0) 0.5 else 0  # Haldane correction for the log RR
  out$rr <- wald_ratio(log((x1 + h) / (n1 + 2 * h)) - log((x2 + h) / (n2 + 2 * h)),
                       sqrt(1 / (x1 + h) - 1 / (n1 + 2 * h) + 1 / (x2 + h) - 1 / (n2 + 2 * h)),
                       conf)
  out$rr$haldane <- h > 0
  cells <- as.vector(tab) + if (has_zero) 0.5 else 0
  out$or_woolf <- wald_ratio(log(cells[1]) + log(cells[4]) - log(cells[2]) - log(cells[3]),
                             sqrt(sum(1 / cells)), conf)
  out$or_woolf$haldane <- has_zero
  if (!has_zero) {
    out$glm_logit <- glm_arm(x1, n1, x2, n2, "logit")
    out$glm_log <- glm_arm(x1, n1, x2, n2, "log")
  }
  out
}

# ------------------------------------------------------------------ continuous helpers
ttest <- function(y, treat, var_equal) {
  h <- t.test(y[treat == 1], y[treat == 0], var.equal = var_equal)
  out <- htest(h)
  out$estimate <- unname(h$estimate[1] - h$estimate[2])
  c(out, list(mean1 = unname(h$estimate[1]), mean2 = unname(h$estimate[2]),
              sd1 = sd(y[treat == 1]), sd2 = sd(y[treat == 0]),
              n1 = sum(treat == 1), n2 = sum(treat == 0)))
}

lm_arm <- function(formula, d) {
  fit <- lm(formula, data = d)
  s <- summary(fit)
  co <- s$coefficients["treat", ]
  ci <- confint(fit, "treat", level = 0.95)
  list(estimate = unname(co[1]), std_error = unname(co[2]), statistic = unname(co[3]),
       p_value = unname(co[4]), df = fit$df.residual, conf_low = ci[1], conf_high = ci[2],
       n = nobs(fit), sigma = s$sigma, r_squared = s$r.squared,
       coef_names = names(coef(fit)), baseline_coef = unname(coef(fit)["hba1c_0"]))
}

paired_binary <- function(before, after, conf = 0.95) {
  keep <- !is.na(before) & !is.na(after)
  b0 <- before[keep]; a0 <- after[keep]
  tab <- table(factor(b0, levels = c(1, 0)), factor(a0, levels = c(1, 0)))
  b <- tab[1, 2]; cc <- tab[2, 1]; n <- sum(tab)
  d <- (cc - b) / n
  se <- sqrt((b + cc) - (cc - b)^2 / n) / n
  z <- qnorm((1 + conf) / 2)
  list(a = tab[1, 1], b = b, c = cc, d = tab[2, 2], n = n, n_excluded = sum(!keep),
       mcnemar = htest(mcnemar.test(tab, correct = TRUE)),
       mcnemar_nocorrect = htest(mcnemar.test(tab, correct = FALSE)),
       exact = htest(binom.test(b, b + cc, 0.5)),
       wald = list(estimate = d, std_error = se, conf_low = d - z * se, conf_high = d + z * se))
}

paired_cont <- function(before, after) {
  keep <- !is.na(before) & !is.na(after)
  h <- t.test(after[keep], before[keep], paired = TRUE)
  c(htest(h), list(n = sum(keep), n_excluded = sum(!keep)))
}

# C-locale sorted factor levels: the reference level is the first in sorted order
as_factor <- function(x) factor(x, levels = sort(unique(x), method = "radix"))

dataset <- function(name) {
  d <- read(name)
  d$treat <- as.numeric(d$arm == "coaching")
  d$sex <- as_factor(d$sex)
  d$site <- as_factor(d$site)
  g <- d[!is.na(d$goal), ]
  x1 <- sum(g$goal[g$treat == 1]); n1 <- sum(g$treat == 1)
  x2 <- sum(g$goal[g$treat == 0]); n2 <- sum(g$treat == 0)
  ch <- d[!is.na(d$hba1c_change), ]
  coach <- d[d$arm == "coaching", ]
  list(
    goal = c(two_by_two(x1, n1, x2, n2), list(n_excluded = sum(is.na(d$goal)))),
    goal_90 = list(prop_test = htest(suppressWarnings(prop.test(c(x1, x2), c(n1, n2),
                                                                conf.level = 0.90))),
                   newcombe = as.list(setNames(newcombe(x1, n1, x2, n2, 0.90),
                                               c("conf_low", "conf_high"))),
                   fisher = htest(fisher.test(matrix(c(x1, n1 - x1, x2, n2 - x2), 2,
                                                     byrow = TRUE), conf.level = 0.90))),
    t_welch = c(ttest(ch$hba1c_change, ch$treat, FALSE),
                list(n_excluded = sum(is.na(d$hba1c_change)))),
    t_pooled = ttest(ch$hba1c_change, ch$treat, TRUE),
    ancova = lm_arm(hba1c_12 ~ treat + hba1c_0, d),
    ancova_cov = lm_arm(hba1c_12 ~ treat + hba1c_0 + age + sex + site + insulin, d),
    mcnemar = paired_binary(coach$goal_12, coach$goal_24),
    paired_t = paired_cont(coach$hba1c_12, coach$hba1c_24)
  )
}

counts <- read("counts")
pv <- read("pvalues")

result <- list(
  generated_by = "tests/reference/basic.R",
  R_version = R.version.string,
  packages = list(stats = as.character(packageVersion("stats")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  counts = setNames(lapply(seq_len(nrow(counts)), function(i) {
    with(counts[i, ], two_by_two(x1, n1, x2, n2))
  }), counts$name),
  wilson = lapply(list(c(56, 70, 0.95), c(0, 10, 0.95), c(3, 41, 0.9), c(41, 41, 0.99)),
                  function(v) {
    ci <- prop.test(v[1], v[2], correct = FALSE, conf.level = v[3])$conf.int
    list(x = v[1], n = v[2], conf_level = v[3], conf_low = ci[1], conf_high = ci[2])
  }),
  newcombe_edge = list(
    e = list(x1 = 0, n1 = 10, x2 = 0, n2 = 20, ci = newcombe(0, 10, 0, 20)),
    f = list(x1 = 0, n1 = 10, x2 = 0, n2 = 10, ci = newcombe(0, 10, 0, 10)),
    h = list(x1 = 10, n1 = 10, x2 = 0, n2 = 10, ci = newcombe(10, 10, 0, 10))
  ),
  datasets = list(balanced = dataset("balanced"), unbalanced = dataset("unbalanced"),
                  small = dataset("small")),
  p_adjust = list(p = pv$p_value,
                  holm = p.adjust(pv$p_value, "holm"),
                  BH = p.adjust(pv$p_value, "BH"),
                  bonferroni = p.adjust(pv$p_value, "bonferroni"),
                  holm_n20 = p.adjust(pv$p_value, "holm", n = 20),
                  BH_n20 = p.adjust(pv$p_value, "BH", n = 20))
)

write_json(result, file.path(here, "basic.json"), auto_unbox = TRUE, digits = NA,
           na = "string", pretty = TRUE)
cat("wrote", file.path(here, "basic.json"), "\n")
