# Independent check of the peer-trial reproduction: the registry's analyses of the bundled
# cohort (data/synthetic/peer_patients.csv) fitted with lme4/lmerTest and glm.
# Regenerate from the repository root with:  Rscript tests/reference/peer_reproduce.R
# Output: tests/reference/peer_reproduce.json (read by tests/test_reproduce.py; CI has no R).
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(jsonlite)
})

d <- read.csv("data/synthetic/peer_patients.csv", stringsAsFactors = FALSE)
d$arm <- factor(d$arm, levels = c("usual_care", "coaching"))
d$insulin <- as.logical(d$insulin)
d$hypertension <- as.logical(d$hypertension)
d$change_hba1c <- d$hba1c_6 - d$hba1c_0
d$change_ldl <- d$ldl_6 - d$ldl_0
d$change_sbp <- d$sbp_6 - d$sbp_0
d$change_bmi <- d$bmi_6 - d$bmi_0
d$lt75_change <- as.numeric(d$hba1c_6 < 7.5) - as.numeric(d$hba1c_0 < 7.5)
d$drop <- as.numeric(d$hba1c_0 - d$hba1c_6 >= 1 - 1e-9)
covs <- "age + marital_status + work_status + insulin + hypertension + bmi_0"

mixed <- function(outcome, adjusted) {
  rhs <- if (adjusted) paste("arm +", covs) else "arm"
  f <- as.formula(paste(outcome, "~", rhs, "+ (1 | site)"))
  m <- lmer(f, data = d, REML = TRUE)
  s <- summary(m)$coefficients["armcoaching", ]
  list(estimate = unname(s["Estimate"]), std_error = unname(s["Std. Error"]),
       df = unname(s["df"]), p_value = unname(s["Pr(>|t|)"]))
}

out <- list()
for (o in c("change_hba1c", "lt75_change", "change_ldl", "change_sbp", "change_bmi")) {
  out[[o]] <- mixed(o, FALSE)
  out[[paste0(o, "_adj")]] <- mixed(o, TRUE)
}
cc <- subset(d, !is.na(hba1c_0) & !is.na(hba1c_6) & hba1c_0 >= 7.0)
tab <- table(cc$arm, cc$drop)
ch <- chisq.test(tab, correct = FALSE)
out[["drop"]] <- list(p_value = unname(ch$p.value),
                      events = as.list(setNames(as.numeric(tab[, "1"]), rownames(tab))),
                      n = as.list(setNames(as.numeric(rowSums(tab)), rownames(tab))))
# converged tightly: summary.glm's SE uses the weights of the last IRLS iteration, so at the
# default epsilon (1e-8 on the deviance) it lags the converged SE by ~1e-5 relative
g <- glm(as.formula(paste("drop ~ arm +", covs, "+ factor(site)")), family = binomial, data = cc,
         control = glm.control(epsilon = 1e-14, maxit = 100))
s <- summary(g)$coefficients["armcoaching", ]
out[["drop_adj"]] <- list(estimate = unname(s["Estimate"]), std_error = unname(s["Std. Error"]),
                          p_value = unname(s["Pr(>|z|)"]))
out[["R.version"]] <- R.version.string
out[["packages"]] <- list(lme4 = as.character(packageVersion("lme4")),
                          lmerTest = as.character(packageVersion("lmerTest")),
                          jsonlite = as.character(packageVersion("jsonlite")))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/peer_reproduce.json")
