//! Every CLV / churn predictor of `clv predict` and `clv score`, fitted on training customers
//! (stacks and calibrations on validation customers) and applied to any customers.

use anyhow::Context;
use clv_agents::{DeviceChoice, ZilnConfig, ZilnData, ZilnFitLog, ZilnModel};
use clv_envs::predict::{
    ForestConfig, ForestRegressor, LinearStack, LogisticStack, RankStack, Table,
};
use serde::Serialize;

/// Name of the reference predictor every other one is compared with.
pub const REFERENCE: &str = "bgnbd";
/// Ridge penalty of the logistic churn stack (per customer, on log-odds inputs).
pub const STACK_RIDGE: f64 = 1e-4;
/// Newton steps of the logistic churn stack.
pub const STACK_ITERATIONS: usize = 50;

/// One predictor's outputs on a set of customers.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// Predictor name.
    pub name: String,
    /// Predicted value over the window, dollars.
    pub value: Vec<f64>,
    /// Predicted probability of no purchase in the window (absent for the critic).
    pub churn: Option<Vec<f64>>,
}

/// The fitted stacks of the fused predictor.
#[derive(Debug, Clone, Serialize)]
pub struct Fusion {
    /// Inputs of the value stack, in order.
    pub value_inputs: Vec<String>,
    /// The value stack.
    pub value: RankStack,
    /// Inputs of the churn stack, in order.
    pub churn_inputs: Vec<String>,
    /// The churn stack.
    pub churn: LogisticStack,
}

/// The component predictors that learn (all but `bgnbd`, which needs no fitting, and `fused`).
struct Components {
    ziln: ZilnModel,
    value_forest: ForestRegressor,
    buy_forest: ForestRegressor,
    critic_line: Option<LinearStack>,
}

/// Every predictor, fitted.
pub struct Predictors {
    components: Components,
    /// How the neural predictor's training went.
    pub ziln_log: ZilnFitLog,
    /// The fused predictor's stacks.
    pub fusion: Fusion,
}

fn ziln_data(x: &Table) -> ZilnData<'_> {
    ZilnData {
        features: &x.features,
        value: &x.value,
        bought: &x.bought,
    }
}

impl Components {
    /// The component predictors (all but `fused`) on the customers of `t`.
    fn predict(&self, t: &Table, critic: Option<&[f64]>) -> anyhow::Result<Vec<Prediction>> {
        let (zv, zp) = self.ziln.predict(&t.features)?;
        let buy = self.buy_forest.predict(&t.features)?;
        let mut out = vec![
            Prediction {
                name: REFERENCE.into(),
                value: t.bgnbd_value.clone(),
                churn: Some(t.bgnbd_churn.clone()),
            },
            Prediction {
                name: "ziln".into(),
                value: zv,
                churn: Some(zp.into_iter().map(|p| 1.0 - p).collect()),
            },
            Prediction {
                name: "forest".into(),
                value: self.value_forest.predict(&t.features)?,
                churn: Some(buy.into_iter().map(|p| (1.0 - p).clamp(0.0, 1.0)).collect()),
            },
        ];
        if let (Some(line), Some(c)) = (&self.critic_line, critic) {
            let raw = [c.to_vec()];
            out.push(Prediction {
                name: "critic".into(),
                value: (0..c.len()).map(|i| line.predict(&raw, i)).collect(),
                churn: None,
            });
        }
        Ok(out)
    }
}

impl Predictors {
    /// Fits the learned predictors on `train` (the neural one stopping early on `valid`), the
    /// critic's calibration (`critic_valid`: raw critic values of the validation customers)
    /// and the fused stacks on `valid`.
    pub fn fit(
        train: &Table,
        valid: &Table,
        critic_valid: Option<&[f64]>,
        seed: u64,
    ) -> anyhow::Result<Self> {
        let device = DeviceChoice::Auto.resolve()?;
        let dim = train.dim();
        let (ziln, ziln_log) = ZilnModel::fit(
            ziln_data(train),
            ziln_data(valid),
            dim,
            &ZilnConfig::default(),
            seed,
            device,
        )?;
        let cfg = ForestConfig::default();
        let value_forest = ForestRegressor::fit(&train.features, dim, &train.value, &cfg, seed)?;
        let bought: Vec<f64> = train
            .bought
            .iter()
            .map(|b| f64::from(u8::from(*b)))
            .collect();
        let buy_forest = ForestRegressor::fit(&train.features, dim, &bought, &cfg, seed + 1)?;
        let critic_line = critic_valid
            .map(|c| {
                LinearStack::fit(&[c.to_vec()], &valid.value, 0.0).context(
                    "calibrating the critic: its values are constant on validation customers",
                )
            })
            .transpose()?;
        let components = Components {
            ziln,
            value_forest,
            buy_forest,
            critic_line,
        };
        let parts = components.predict(valid, critic_valid)?;
        let values: Vec<Vec<f64>> = parts.iter().map(|p| p.value.clone()).collect();
        let churners: Vec<&Prediction> = parts.iter().filter(|p| p.churn.is_some()).collect();
        let churns: Vec<Vec<f64>> = churners
            .iter()
            .map(|p| p.churn.clone().expect("filtered"))
            .collect();
        let fusion = Fusion {
            value_inputs: parts.iter().map(|p| p.name.clone()).collect(),
            value: RankStack::fit(&values, &valid.value)
                .context("fusing the value predictors: no validation customers")?,
            churn_inputs: churners.iter().map(|p| p.name.clone()).collect(),
            churn: LogisticStack::fit(&churns, &valid.churned(), STACK_RIDGE, STACK_ITERATIONS)
                .context("fusing the churn predictors: singular on validation customers")?,
        };
        Ok(Self {
            components,
            ziln_log,
            fusion,
        })
    }

    /// Every predictor, `fused` last, on the customers of `t` (`critic`: their raw critic
    /// values, when the predictors were fitted with a critic).
    pub fn predict(&self, t: &Table, critic: Option<&[f64]>) -> anyhow::Result<Vec<Prediction>> {
        let mut parts = self.components.predict(t, critic)?;
        let values: Vec<Vec<f64>> = parts.iter().map(|p| p.value.clone()).collect();
        let churns: Vec<Vec<f64>> = parts.iter().filter_map(|p| p.churn.clone()).collect();
        let fused = Prediction {
            name: "fused".into(),
            value: self.fusion.value.predict(&values),
            churn: Some(
                (0..t.len())
                    .map(|i| self.fusion.churn.predict(&churns, i))
                    .collect(),
            ),
        };
        parts.push(fused);
        Ok(parts)
    }
}
