# R reference values for sample size and power (src/coachstats/power.py).
#
# Regenerate (from the repository root; no data fixtures, the scenarios are below):
#     Rscript tests/reference/power.R            # writes tests/reference/power.json
#
# Functions matched:
#   - stats::power.prop.test (strict = FALSE / TRUE): the "pooled" normal approximation,
#     equal allocation. For unequal allocation (n2 = ratio * n1) no R function exists; the
#     generalization is written out here (Fleiss, Levin & Paik 2003, ch. 4: pooled
#     proportion (p1 + ratio * p2) / (1 + ratio) under H0, unpooled variance under H1) and
#     checked to reduce to power.prop.test at ratio = 1.
#   - pwr::pwr.2p.test, pwr::pwr.2p2n.test: the "arcsine" method (Cohen's h = ES.h(p1, p2)).
#   - stats::power.t.test (strict = FALSE / TRUE) and pwr::pwr.t2n.test: noncentral t.
#   The two-sided power without the far tail (strict = FALSE, the default of power.prop.test
#   and power.t.test) is the one-sided power at sig.level / 2, so for pwr (which always adds
#   the far tail) it is pwr's alternative = "greater" at sig.level / 2.
#
# Sample sizes: power.prop.test and power.t.test take `tol`; they are called with
# tol = 1e-12 ("n_*"), and also with their default tol = .Machine$double.eps^0.25 ("n_r_default",
# the number an R user sees). pwr's functions fix uniroot's default tol, so their power
# function is inverted here with uniroot(tol = 1e-12); "n_pwr_default" is pwr's own answer.
# Non-finite numbers would be written as "Inf", "-Inf", "NaN", "NA" (none occur).

suppressPackageStartupMessages({
  library(jsonlite)
  library(pwr)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

TOL <- 1e-12

# --------------------------------------------------------------------- power functions
# sides: 2 = two-sided, 1 = one-sided (in the direction of the planned effect).
# strict: two-sided power counts rejections in the wrong direction too.

pooled_power <- function(n1, p1, p2, alpha, sides, strict, ratio) {
  if (ratio == 1) {
    alt <- if (sides == 2) "two.sided" else "one.sided"
    return(power.prop.test(n = n1, p1 = p1, p2 = p2, sig.level = alpha,
                           alternative = alt, strict = strict)$power)
  }
  pbar <- (p1 + ratio * p2) / (1 + ratio)
  s0 <- sqrt(pbar * (1 - pbar) * (1 + 1 / ratio))
  s1 <- sqrt(p1 * (1 - p1) + p2 * (1 - p2) / ratio)
  z <- qnorm(alpha / sides, lower.tail = FALSE)
  d <- abs(p1 - p2)
  pw <- pnorm((sqrt(n1) * d - z * s0) / s1)
  if (strict && sides == 2) pw <- pw + pnorm((-sqrt(n1) * d - z * s0) / s1)
  pw
}

# pwr's alternatives reproduce the three cases (h >= 0 here).
pwr_alt <- function(alpha, sides, strict) {
  if (sides == 2 && strict) list(alternative = "two.sided", sig.level = alpha)
  else list(alternative = "greater", sig.level = alpha / sides)
}

arcsine_power <- function(n1, h, alpha, sides, strict, ratio) {
  a <- pwr_alt(alpha, sides, strict)
  pwr.2p2n.test(h = abs(h), n1 = n1, n2 = ratio * n1, sig.level = a$sig.level,
                alternative = a$alternative)$power
}

t_power <- function(n1, d, alpha, sides, strict, ratio) {
  if (ratio == 1) {
    alt <- if (sides == 2) "two.sided" else "one.sided"
    return(power.t.test(n = n1, delta = abs(d), sd = 1, sig.level = alpha,
                        alternative = alt, strict = strict)$power)
  }
  a <- pwr_alt(alpha, sides, strict)
  pwr.t2n.test(n1 = n1, n2 = ratio * n1, d = abs(d), sig.level = a$sig.level,
               alternative = a$alternative)$power
}

solve_n <- function(fn, target, lower) {
  uniroot(function(n) fn(n) - target, c(lower, 1e7), tol = TOL, extendInt = "upX",
          maxiter = 10000)$root
}

# The written-out unequal-allocation formula reduces to power.prop.test at ratio = 1.
local({
  for (strict in c(FALSE, TRUE)) for (sides in 1:2) {
    p <- power.prop.test(n = 123.4, p1 = 0.3, p2 = 0.45, sig.level = 0.05,
                         alternative = if (sides == 2) "two.sided" else "one.sided",
                         strict = strict)$power
    pbar <- 0.375
    s0 <- sqrt(pbar * (1 - pbar) * 2)
    s1 <- sqrt(0.3 * 0.7 + 0.45 * 0.55)
    z <- qnorm(0.05 / sides, lower.tail = FALSE)
    q <- pnorm((sqrt(123.4) * 0.15 - z * s0) / s1)
    if (strict && sides == 2) q <- q + pnorm((-sqrt(123.4) * 0.15 - z * s0) / s1)
    stopifnot(abs(p - q) < 1e-14)
  }
})

# ----------------------------------------------------------------------------- scenarios
# HCPC (Willard-Grace 2015) and peer (Thom 2013) effects, unequal allocation, small and
# large effects, one-sided tests, alpha = .01. `n` is the given n (group 1) for power.

pooled_sd <- function(sd1, n1, sd2, n2) sqrt(((n1 - 1) * sd1^2 + (n2 - 1) * sd2^2) / (n1 + n2 - 2))

prop_cases <- list(
  list(id = "hcpc_composite", p1 = 0.464, p2 = 0.343, n = 200),
  list(id = "hcpc_composite_90", p1 = 0.464, p2 = 0.343, power = 0.9, n = 150),
  list(id = "hcpc_all_goals", p1 = 0.340, p2 = 0.247, n = 300),
  list(id = "hcpc_hba1c_goal", p1 = 0.486, p2 = 0.276, n = 70),
  list(id = "peer_hba1c_drop", p1 = 0.496, p2 = 0.315, n = 121),
  list(id = "reversed", p1 = 0.343, p2 = 0.464, n = 200),
  list(id = "small_effect", p1 = 0.30, p2 = 0.27, n = 1000),
  list(id = "rare", p1 = 0.05, p2 = 0.02, n = 400),
  list(id = "one_sided", p1 = 0.464, p2 = 0.343, sides = 1, n = 200),
  list(id = "alpha_01", p1 = 0.464, p2 = 0.343, alpha = 0.01, n = 200),
  list(id = "ratio_2", p1 = 0.464, p2 = 0.343, ratio = 2, n = 150),
  list(id = "ratio_half", p1 = 0.486, p2 = 0.276, ratio = 0.5, n = 90),
  list(id = "ratio_1_5_one_sided", p1 = 0.30, p2 = 0.22, ratio = 1.5, sides = 1, n = 250)
)

peer_sd <- pooled_sd(2.8, 122, 3.1, 114)
mean_cases <- list(
  list(id = "peer_hba1c_change", delta = -0.77, sd = peer_sd, n = 120),
  list(id = "peer_hba1c_change_90", delta = -0.77, sd = peer_sd, power = 0.9, n = 250),
  list(id = "medium", delta = 0.5, sd = 1, n = 50),
  list(id = "small", delta = 0.1, sd = 1, n = 1000),
  list(id = "large", delta = 1.5, sd = 1, n = 6),
  list(id = "one_sided", delta = 0.5, sd = 1, sides = 1, n = 40),
  list(id = "alpha_01", delta = 0.5, sd = 1, alpha = 0.01, n = 60),
  list(id = "ratio_2", delta = -0.77, sd = peer_sd, ratio = 2, n = 100),
  list(id = "ratio_half_small_n", delta = 1.2, sd = 1, ratio = 0.5, n = 8),
  list(id = "ratio_3_one_sided", delta = 0.4, sd = 1, ratio = 3, sides = 1, n = 60)
)

fill <- function(case) {
  defaults <- list(alpha = 0.05, power = 0.8, sides = 2, ratio = 1)
  for (k in names(defaults)) if (is.null(case[[k]])) case[[k]] <- defaults[[k]]
  case
}

prop_out <- lapply(prop_cases, function(case) {
  c0 <- fill(case)
  h <- ES.h(c0$p1, c0$p2)
  res <- list(
    id = c0$id, p1 = c0$p1, p2 = c0$p2, alpha = c0$alpha, power = c0$power,
    alternative = if (c0$sides == 2) "two-sided" else "one-sided", ratio = c0$ratio,
    n = c0$n, h = h
  )
  for (strict in c(FALSE, TRUE)) {
    tag <- if (strict) "strict" else "nonstrict"
    pp <- function(n) pooled_power(n, c0$p1, c0$p2, c0$alpha, c0$sides, strict, c0$ratio)
    ap <- function(n) arcsine_power(n, h, c0$alpha, c0$sides, strict, c0$ratio)
    res[[paste0("pooled_n_", tag)]] <- solve_n(pp, c0$power, 1)
    res[[paste0("pooled_power_", tag)]] <- pp(c0$n)
    res[[paste0("arcsine_n_", tag)]] <- solve_n(ap, c0$power, max(2, 2 / c0$ratio) + 1e-10)
    res[[paste0("arcsine_power_", tag)]] <- ap(c0$n)
    if (c0$ratio == 1) {
      alt <- if (c0$sides == 2) "two.sided" else "one.sided"
      res[[paste0("pooled_n_r_default_", tag)]] <- power.prop.test(
        p1 = c0$p1, p2 = c0$p2, power = c0$power, sig.level = c0$alpha,
        alternative = alt, strict = strict
      )$n
    }
  }
  # pwr's own answers (uniroot's default tol); two-sided is always "strict" in pwr.
  a <- pwr_alt(c0$alpha, c0$sides, TRUE)
  res$arcsine_n_pwr_default <- if (c0$ratio == 1) {
    pwr.2p.test(h = abs(h), power = c0$power, sig.level = a$sig.level,
                alternative = a$alternative)$n
  } else NULL
  res
})

mean_out <- lapply(mean_cases, function(case) {
  c0 <- fill(case)
  d <- c0$delta / c0$sd
  res <- list(
    id = c0$id, delta = c0$delta, sd = c0$sd, alpha = c0$alpha, power = c0$power,
    alternative = if (c0$sides == 2) "two-sided" else "one-sided", ratio = c0$ratio,
    n = c0$n, d = d
  )
  lower <- max(2, 2 / c0$ratio) + 1e-10
  for (strict in c(FALSE, TRUE)) {
    tag <- if (strict) "strict" else "nonstrict"
    tp <- function(n) t_power(n, d, c0$alpha, c0$sides, strict, c0$ratio)
    res[[paste0("t_n_", tag)]] <- solve_n(tp, c0$power, lower)
    res[[paste0("t_power_", tag)]] <- tp(c0$n)
    if (c0$ratio == 1) {
      alt <- if (c0$sides == 2) "two.sided" else "one.sided"
      args <- list(delta = abs(c0$delta), sd = c0$sd, power = c0$power, sig.level = c0$alpha,
                   alternative = alt, strict = strict)
      res[[paste0("t_n_r_default_", tag)]] <- do.call(power.t.test, args)$n
      # power.t.test itself, on the raw delta and sd, with a tight tol
      res[[paste0("t_n_r_tight_", tag)]] <- do.call(power.t.test, c(args, tol = TOL))$n
    }
  }
  res
})

# Clustered, lossy designs in "power" mode: n enrolled in group 1, the power is that of the
# effective n = n * (1 - attrition) / (1 + (m - 1) * icc), computed here by the R functions.
design_cases <- list(
  list(id = "peer_hba1c_change", kind = "means", delta = -0.77, sd = peer_sd, n = 150,
       icc = 0.05, cluster_size = 10, attrition = 0.2),
  list(id = "hcpc_composite", kind = "proportions", p1 = 0.464, p2 = 0.343, n = 400,
       icc = 0.02, cluster_size = 75, attrition = 0.15),
  list(id = "hcpc_hba1c_goal_ratio", kind = "proportions", p1 = 0.486, p2 = 0.276, n = 120,
       icc = 0.01, cluster_size = 20, attrition = 0.1, ratio = 2)
)
design_out <- lapply(design_cases, function(case) {
  c0 <- fill(case)
  de <- 1 + (c0$cluster_size - 1) * c0$icc
  n_eff <- c0$n * (1 - c0$attrition) / de
  c0$design_effect <- de
  c0$n_effective <- n_eff
  if (c0$kind == "means") {
    c0$t_power_nonstrict <- t_power(n_eff, c0$delta / c0$sd, c0$alpha, c0$sides, FALSE, c0$ratio)
  } else {
    c0$pooled_power_nonstrict <- pooled_power(n_eff, c0$p1, c0$p2, c0$alpha, c0$sides, FALSE,
                                              c0$ratio)
    c0$arcsine_power_strict <- arcsine_power(n_eff, ES.h(c0$p1, c0$p2), c0$alpha, c0$sides,
                                             TRUE, c0$ratio)
  }
  c0$alternative <- "two-sided"
  c0$sides <- NULL
  c0$power <- NULL  # not used: these cases compute the power
  c0
})

# A huge effect: the t test already has the power at its minimum of 2 per group.
minimum <- list(delta = 10, sd = 1, n = 2,
                power = power.t.test(n = 2, delta = 10, sd = 1)$power)

out <- list(
  R_version = R.version.string,
  packages = list(
    pwr = as.character(packageVersion("pwr")),
    jsonlite = as.character(packageVersion("jsonlite")),
    stats = as.character(packageVersion("stats"))
  ),
  tol = TOL,
  peer_pooled_sd = peer_sd,
  proportions = prop_out,
  means = mean_out,
  designs = design_out,
  minimum = minimum
)

writeLines(
  toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "string", pretty = TRUE),
  file.path(here, "power.json")
)
cat("wrote", file.path(here, "power.json"), "\n")
