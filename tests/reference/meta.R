# R reference values for the meta-analysis estimators
# (src/coachstats/compare/{meta,meta_fit,meta_checks,mantel_haenszel}.py).
#
# Regenerate (from the repository root):
#     python tests/reference/make_meta_data.py   # CSV fixtures (patient-level strata, coaching HbA1c)
#     Rscript tests/reference/meta.R             # writes tests/reference/meta.json
#
# R functions matched (metafor 3.8-1):
# - rma(yi, sei = sei, method = "FE" / "DL" / "REML" / "PM", test = "z" / "knha"): estimate,
#   SE, interval, test, QE / QEp, I2, H2, tau2, weights(); predict() for the prediction
#   interval (pi.type "default", "t", "riley"); confint() for the Q-profile limits of tau2, I2, H2;
# - leave1out(), regtest(model = "rma" / "lm"), subgroups by separate fits + rma(method = "FE",
#   mods = ~ group) and by rma(mods = ~ factor(group)) (QM);
# - rma.mh(measure = "OR" / "RR" / "RD") with its CMH and Tarone tests; mantelhaen.test().
#
# The iterative estimators are run with tight controls (REML threshold 1e-12, PM and
# confint uniroot tol 1e-12) instead of metafor's defaults (threshold 1e-5, tol 1.2e-4), so
# that the values are the converged roots; the "defaults" block records metafor's default
# output for the same data, to show how far the default stopping rules are from the root.
# Non-finite numbers are written as the strings "Inf", "-Inf", "NaN", "NA".

suppressPackageStartupMessages({
  library(jsonlite)
  library(metafor)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
data_dir <- file.path(here, "data")

tight <- list(threshold = 1e-12, tol = 1e-12, maxiter = 1000)
num <- function(x) as.numeric(x)

fit_row <- function(m, level = 95) {
  p <- predict(m)
  out <- list(estimate = num(m$b), se = num(m$se), zval = num(m$zval), pval = num(m$pval),
              ci_lb = num(m$ci.lb), ci_ub = num(m$ci.ub), QE = m$QE, QEp = m$QEp,
              I2 = m$I2, H2 = m$H2, tau2 = m$tau2, weights = num(weights(m)) / 100,
              pi_lb = num(p$pi.lb), pi_ub = num(p$pi.ub))
  if (!(m$method %in% c("FE", "EE", "CE"))) {
    for (type in c("t", "riley")) {
      pt <- predict(m, pi.type = type)
      out[[paste0("pi_", type)]] <- c(num(pt$pi.lb), num(pt$pi.ub))
    }
    ci <- confint(m, control = list(tol = 1e-12))$random
    out$tau2_ci <- num(ci["tau^2", c("ci.lb", "ci.ub")])
    out$I2_ci <- num(ci["I^2(%)", c("ci.lb", "ci.ub")])
    out$H2_ci <- num(ci["H^2", c("ci.lb", "ci.ub")])
  }
  out
}

uni_set <- function(yi, sei, study, groups = NULL, l1o = "REML", egger = TRUE) {
  fits <- list()
  for (method in c("FE", "DL", "REML", "PM")) {
    for (test in c("z", "knha")) {
      m <- suppressWarnings(rma(yi = yi, sei = sei, method = method, test = test, control = tight))
      fits[[paste(method, test, sep = "_")]] <- fit_row(m)
    }
  }
  out <- list(study = as.character(study), yi = num(yi), sei = num(sei), fits = fits)
  lo <- list()
  for (test in c("z", "knha")) {
    m <- rma(yi = yi, sei = sei, method = l1o, test = test, control = tight)
    l <- leave1out(m)  # refits with the fit's (tight) control
    lo[[test]] <- list(estimate = num(l$estimate), se = num(l$se),
                       zval = num(if (is.null(l$zval)) l$tval else l$zval),
                       pval = num(l$pval), ci_lb = num(l$ci.lb), ci_ub = num(l$ci.ub),
                       Q = num(l$Q), Qp = num(l$Qp), tau2 = num(l$tau2), I2 = num(l$I2),
                       H2 = num(l$H2))
  }
  out$leave1out <- list(method = l1o, fits = lo)
  if (egger) {
    eg <- list()
    for (method in c("FE", "DL", "REML")) {
      for (test in c("z", "knha")) {
        m <- suppressWarnings(rma(yi = yi, sei = sei, method = method, test = test, control = tight))
        r <- suppressWarnings(regtest(m))  # refits with the fit's (tight) control
        eg[[paste(method, test, sep = "_")]] <- list(zval = num(r$zval), pval = num(r$pval),
          est = num(r$est), ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub),
          ddf = if (is.null(r$ddf) || is.na(r$ddf)) "Inf" else num(r$ddf))
      }
    }
    r <- regtest(rma(yi = yi, sei = sei, method = "REML", control = tight), model = "lm")
    eg$lm <- list(zval = num(r$zval), pval = num(r$pval), est = num(r$est), ci_lb = num(r$ci.lb),
                  ci_ub = num(r$ci.ub), ddf = num(r$ddf))
    out$regtest <- eg
  }
  if (!is.null(groups)) {
    sg <- list(groups = as.character(groups))
    for (method in c("DL", "REML")) {
      for (test in c("z", "knha")) {
        key <- paste(method, test, sep = "_")
        # separate tau2 per subgroup, then a fixed-effect comparison of the subgroup estimates
        levs <- sort(unique(as.character(groups)))
        sep <- lapply(levs, function(g) {
          sel <- groups == g
          if (sum(sel) == 1) {
            return(list(estimate = yi[sel], se = sei[sel], tau2 = 0))
          }
          m <- rma(yi = yi[sel], sei = sei[sel], method = method, test = test, control = tight)
          list(estimate = num(m$b), se = num(m$se), tau2 = m$tau2, ci_lb = num(m$ci.lb),
               ci_ub = num(m$ci.ub))
        })
        names(sep) <- levs
        comp <- data.frame(estimate = sapply(sep, `[[`, "estimate"), se = sapply(sep, `[[`, "se"),
                           group = levs)
        between <- rma(estimate, sei = se, mods = ~ group, method = "FE", data = comp)
        common <- rma(yi = yi, sei = sei, mods = ~ factor(groups), method = method, test = test,
                      control = tight)
        sg[[key]] <- list(
          separate = list(groups = sep, QM = between$QM, QMp = between$QMp, QMdf = between$QMdf[1]),
          common = list(QM = common$QM, QMp = common$QMp, QMdf = num(common$QMdf),
                        tau2 = common$tau2, coef = num(common$b), se = num(common$se)))
      }
    }
    out$subgroups <- sg
  }
  out
}

# ------------------------------------------------------------------ data sets (metafor)
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
hack <- dat.hackshaw1998
normand <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
                  n2i = n2i, data = dat.normand1999)
hine <- escalc(measure = "RD", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.hine1989)

uni <- list(
  bcg = uni_set(bcg$yi, sqrt(bcg$vi), dat.bcg$author, groups = dat.bcg$alloc),
  hackshaw1998 = uni_set(hack$yi, sqrt(hack$vi), paste(hack$author, hack$year)),
  normand1999 = uni_set(normand$yi, sqrt(normand$vi), normand$source),
  hine1989 = uni_set(hine$yi, sqrt(hine$vi), hine$source)
)
coaching_file <- file.path(data_dir, "meta_coaching_hba1c.csv")
if (file.exists(coaching_file)) {
  co <- read.csv(coaching_file, stringsAsFactors = FALSE)
  uni$coaching_hba1c <- uni_set(co$yi, co$sei, co$study, groups = co$coach)
}

defaults <- lapply(list(bcg = bcg, hackshaw1998 = hack, normand1999 = normand), function(d) {
  list(REML = rma(yi, vi, data = d, method = "REML")$tau2,
       PM = rma(yi, vi, data = d, method = "PM")$tau2,
       tau2_ci = num(confint(rma(yi, vi, data = d, method = "REML"))$random["tau^2", 2:3]))
})

# ------------------------------------------------------------------ Mantel-Haenszel
mh_set <- function(ai, bi, ci, di, study) {
  out <- list(study = as.character(study), ai = num(ai), bi = num(bi), ci = num(ci), di = num(di))
  for (measure in c("OR", "RR", "RD")) {
    m <- suppressWarnings(rma.mh(ai = ai, bi = bi, ci = ci, di = di, measure = measure))
    out[[measure]] <- list(estimate = num(m$b), se = num(m$se), zval = num(m$zval),
                           pval = num(m$pval), ci_lb = num(m$ci.lb), ci_ub = num(m$ci.ub),
                           QE = m$QE, QEp = m$QEp, I2 = m$I2, H2 = m$H2, k_yi = m$k.yi,
                           MH = m$MH, MHp = m$MHp, TA = m$TA, TAp = m$TAp,
                           weights = num(weights(m)) / 100)
  }
  out
}
niel <- dat.nielweise2007
mh <- list(
  bcg = mh_set(dat.bcg$tpos, dat.bcg$tneg, dat.bcg$cpos, dat.bcg$cneg, dat.bcg$author),
  hine1989 = with(dat.hine1989, mh_set(ai, n1i - ai, ci, n2i - ci, source)),
  nielweise2007 = with(niel, mh_set(ai, n1i - ai, ci, n2i - ci, paste(author, year)))
)

# ------------------------------------------------------------------ mantelhaen.test
cmh_arrays <- function(ai, bi, ci, di) {
  # rows: treatment, control; columns: event, no event; layers: strata
  array(as.numeric(rbind(ai, ci, bi, di)), dim = c(2, 2, length(ai)))  # doubles: no integer overflow
}
cmh_row <- function(x) {
  out <- list()
  for (correct in c(TRUE, FALSE)) {
    t <- mantelhaen.test(x, correct = correct)
    out[[if (correct) "correct" else "uncorrected"]] <- list(
      statistic = num(t$statistic), p = t$p.value, estimate = num(t$estimate),
      ci = num(t$conf.int))
  }
  out
}
strata <- read.csv(file.path(data_dir, "meta_strata.csv"), stringsAsFactors = FALSE)
strata <- strata[complete.cases(strata), ]
tab <- table(factor(strata$arm, levels = c("coaching", "usual_care")),
             factor(strata$goal, levels = c(1, 0)), strata$site)
ucb <- UCBAdmissions  # Admit x Gender x Dept; rows Admitted/Rejected, columns Male/Female
ucb_t <- aperm(ucb, c(2, 1, 3))  # Gender x Admit x Dept: treatment = Male, event = Admitted
mantelhaen <- list(
  strata = c(list(ai = num(tab[1, 1, ]), bi = num(tab[1, 2, ]), ci = num(tab[2, 1, ]),
                  di = num(tab[2, 2, ]), sites = dimnames(tab)[[3]]), cmh_row(tab),
             list(rma_mh = mh_set(tab[1, 1, ], tab[1, 2, ], tab[2, 1, ], tab[2, 2, ],
                                  dimnames(tab)[[3]]))),
  ucb = c(list(ai = num(ucb_t[1, 1, ]), bi = num(ucb_t[1, 2, ]), ci = num(ucb_t[2, 1, ]),
               di = num(ucb_t[2, 2, ])), cmh_row(ucb_t)),
  bcg = with(dat.bcg, c(list(ai = tpos, bi = tneg, ci = cpos, di = cneg),
                        cmh_row(cmh_arrays(tpos, tneg, cpos, cneg))))
)

out <- list(metafor = as.character(packageVersion("metafor")), R = R.version.string,
            uni = uni, defaults = defaults, mh = mh, mantelhaen = mantelhaen)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE),
           file.path(here, "meta.json"))
