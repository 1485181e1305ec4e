//! Reads an OpenMetrics text exposition with `openmetrics-parser`, an implementation independent of the
//! `prometheus-client` encoder behind `/metrics`, for tests only.
//!
//! The parser enforces the format (names, `# TYPE` before samples, one group per family, label escapes, the
//! `_total` suffix of counter samples, unique label sets, the final `# EOF`); this module only flattens what it
//! read into `(sample name, labels) -> value`. Shared by the unit tests of `serve::metrics` and the end-to-end
//! tests of `serve`.

use std::collections::{BTreeMap, HashMap};

use openmetrics_parser::{OpenMetricsType, OpenMetricsValue};

/// A parsed exposition: each family's type and every sample.
#[derive(Debug, Default)]
pub struct Exposition {
    kinds: HashMap<String, OpenMetricsType>,
    samples: HashMap<(String, BTreeMap<String, String>), f64>,
}

impl Exposition {
    /// The type of a family (`counter`, `gauge`, ...), by family name (a counter's without `_total`).
    pub fn kind(&self, family: &str) -> Option<String> {
        self.kinds.get(family).map(ToString::to_string)
    }

    /// The value of the sample `name` (a counter's with `_total`) with exactly these labels.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let labels = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.samples.get(&(name.to_owned(), labels)).copied()
    }
}

/// Parses `text`, or says why it is not a valid OpenMetrics exposition.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let parsed = openmetrics_parser::openmetrics::parse_openmetrics(text).map_err(|err| err.to_string())?;
    let mut exposition = Exposition::default();
    for (name, family) in &parsed.families {
        exposition.kinds.insert(name.clone(), family.family_type);
        for sample in family.iter_samples() {
            let (sample_name, value) = match &sample.value {
                OpenMetricsValue::Counter(counter) => (format!("{name}_total"), counter.value.as_f64()),
                OpenMetricsValue::Gauge(value) | OpenMetricsValue::Unknown(value) => (name.clone(), value.as_f64()),
                other => return Err(format!("{name}: a {other:?} sample, which autostop never exposes")),
            };
            let labels = sample.get_labelset().map_err(|err| err.to_string())?;
            let labels = labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            if exposition.samples.insert((sample_name.clone(), labels), value).is_some() {
                return Err(format!("{sample_name}: a label set appears twice"));
            }
        }
    }
    Ok(exposition)
}
