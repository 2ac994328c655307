# Reference values for the Mancl-DeRouen bias-corrected GEE sandwich
# (coachstats: gee(..., small_sample="MD"); compare/gee.py, _mancl_derouen_scores).
#
# Regenerate from the repository root (fixtures from tests/reference/make_models_data.py):
#     Rscript tests/reference/gee_md.R   # writes tests/reference/gee_md.json
#
# Packages: jsonlite, geepack. No packaged R implementation of the correction is
# available here (geesmv is not in Debian), so md_helpers.R computes it from the
# geeglm fit with dense per-cluster matrices, as Mancl & DeRouen (2001,
# Biometrics 57:126-134) define it, after checking that the same algebra without
# the (I - H_ii)^-1 factor reproduces geeglm's own robust covariance.
# Models: goal (binomial, logit) and hba1c_change (gaussian) on the arm, exchangeable,
# complete cases, data sorted by clinic; geese.control(epsilon = 1e-10, maxit = 200).
suppressPackageStartupMessages({
  library(jsonlite)
  library(geepack)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("--file=", "", grep("--file=", args, value = TRUE))
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

source(file.path(here, "md_helpers.R"))

md_block <- function(d, outcome, fam) {
  dd <- d[complete.cases(d[, c(outcome, "arm", "clinic")]), ]
  dd <- dd[order(dd$clinic), ]
  dd$treat <- as.integer(dd$arm == "coaching")
  dd$cid <- as.integer(factor(dd$clinic))
  fit <- geeglm(as.formula(paste(outcome, "~ treat")), id = cid, data = dd, family = fam,
                corstr = "exchangeable", control = geese.control(epsilon = 1e-10, maxit = 200))
  v <- mancl_derouen(fit, dd[[outcome]], dd$cid)
  list(
    n = nrow(dd), n_clusters = v$n_clusters, estimate = unname(coef(fit)[["treat"]]),
    robust_se = sqrt(v$robust[2, 2]), md_se = sqrt(v$md[2, 2]),
    md_se_intercept = sqrt(v$md[1, 1]), alpha = fit$geese$alpha, scale = fit$geese$gamma
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
