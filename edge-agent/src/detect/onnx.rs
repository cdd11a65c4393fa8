//! ONNX Runtime detector: one `ort` session built from a model manifest and an
//! edge-box profile (threads, execution providers), plus pre- and post-processing.
//!
//! ONNX Runtime is loaded at run time from `ORT_DYLIB_PATH` (the library shipped in the
//! pinned `onnxruntime` wheel; `make setup` provides it). One ORT environment exists per
//! process. The model file is refused unless its sha256 matches the manifest.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use firmware_profiles::{EdgeBoxProfile, ExecutionProvider};
use models::{DecoderKind, Manifest};
use ndarray::Array4;
use ort::session::Session;
use ort::value::TensorRef;
use protocol::ObjectClass;
use sha2::{Digest, Sha256};

use std::time::Instant;

use super::{DetectSettings, DetectTimes, Detection, Detector, PreparedFrame, decode, nms};

#[derive(Debug, thiserror::Error)]
pub enum DetectorError {
    #[error(
        "ONNX Runtime library not found: {0} (run `make setup`, or set ORT_DYLIB_PATH to libonnxruntime.so.1.31.1)"
    )]
    RuntimeMissing(String),
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    #[error("model file {path}: {message}")]
    ModelFile { path: PathBuf, message: String },
    #[error("model file {path}: sha256 {actual} does not match manifest {id} ({expected})")]
    Checksum { path: PathBuf, id: String, expected: String, actual: String },
    #[error("model {id}: {message}")]
    Contract { id: String, message: String },
    #[error("inference failed: {0}")]
    Inference(String),
}

/// Path of the ONNX Runtime shared library: `ORT_DYLIB_PATH`, else the project's setup location.
pub fn ort_library_path() -> PathBuf {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../.venv/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1")
}

static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

fn environment() -> Result<&'static ort::environment::Environment, DetectorError> {
    let env = ENVIRONMENT.get_or_init(|| {
        let path = ort_library_path();
        if !path.is_file() {
            return Err(format!("RUNTIME_MISSING{}", path.display()));
        }
        ort::init_from(&path).map_err(|e| e.to_string())?.with_name("edge-agent").build().map_err(|e| e.to_string())
    });
    match env {
        Ok(env) => Ok(env),
        Err(e) if e.starts_with("RUNTIME_MISSING") => {
            Err(DetectorError::RuntimeMissing(e["RUNTIME_MISSING".len()..].into()))
        }
        Err(e) => Err(DetectorError::Runtime(e.clone())),
    }
}

/// Reads a model file and checks it against its manifest's sha256.
pub fn read_verified(manifest: &Manifest, path: &Path) -> Result<Vec<u8>, DetectorError> {
    let bytes = std::fs::read(path)
        .map_err(|e| DetectorError::ModelFile { path: path.to_path_buf(), message: e.to_string() })?;
    let actual = format!("{:x}", Sha256::digest(&bytes));
    if actual != manifest.sha256 {
        return Err(DetectorError::Checksum {
            path: path.to_path_buf(),
            id: manifest.id.clone(),
            expected: manifest.sha256.clone(),
            actual,
        });
    }
    Ok(bytes)
}

fn execution_providers(profile: &EdgeBoxProfile) -> Vec<ort::ep::ExecutionProviderDispatch> {
    let mut eps = Vec::new();
    for ep in &profile.execution_providers {
        match ep {
            ExecutionProvider::Cpu => eps.push(ort::ep::CPU::default().build()),
            #[cfg(feature = "cuda")]
            ExecutionProvider::Cuda => eps.push(ort::ep::CUDA::default().build()),
            #[cfg(feature = "tensorrt")]
            ExecutionProvider::Tensorrt => eps.push(ort::ep::TensorRT::default().build()),
            #[cfg(feature = "xnnpack")]
            ExecutionProvider::Xnnpack => eps.push(ort::ep::XNNPACK::default().build()),
            #[cfg(feature = "openvino")]
            ExecutionProvider::Openvino => eps.push(ort::ep::OpenVINO::default().build()),
            #[cfg(feature = "acl")]
            ExecutionProvider::Acl => eps.push(ort::ep::ACL::default().build()),
            #[allow(unreachable_patterns)]
            other => tracing::warn!(
                provider = other.name(),
                profile = %profile.id,
                "execution provider not compiled into this build; using the next one"
            ),
        }
    }
    eps
}

pub struct OnnxDetector {
    session: Session,
    manifest: Manifest,
    table: Vec<Option<ObjectClass>>,
    num_classes: usize,
    settings: DetectSettings,
    candidates: Vec<Detection>,
    views_of: Vec<usize>,
    scratch: Vec<Detection>,
    times: DetectTimes,
}

impl OnnxDetector {
    /// Loads `model_path` (sha256-checked) with the session options of `profile`.
    pub fn load(
        manifest: &Manifest,
        model_path: &Path,
        profile: &EdgeBoxProfile,
        settings: DetectSettings,
    ) -> Result<OnnxDetector, DetectorError> {
        let bytes = read_verified(manifest, model_path)?;
        let env = environment()?;
        let rt = |e: ort::Error| DetectorError::Runtime(e.to_string());
        let rtb = |e: ort::Error<ort::session::builder::SessionBuilder>| DetectorError::Runtime(e.to_string());
        let session = Session::builder(env)
            .map_err(rt)?
            .with_log_level(ort::logging::LogLevel::Error)
            .map_err(rtb)?
            .with_intra_threads(profile.intra_op_threads as usize)
            .map_err(rtb)?
            .with_inter_threads(1)
            .map_err(rtb)?
            .with_execution_providers(execution_providers(profile))
            .map_err(rtb)?
            .commit_from_memory(&bytes)
            .map_err(|e| DetectorError::ModelFile { path: model_path.to_path_buf(), message: e.to_string() })?;
        let contract = |message: String| DetectorError::Contract { id: manifest.id.clone(), message };
        if !session.inputs().iter().any(|i| i.name() == manifest.input.name) {
            return Err(contract(format!("the graph has no input named {:?}", manifest.input.name)));
        }
        for t in &manifest.output.tensors {
            if !session.outputs().iter().any(|o| o.name() == t) {
                let names: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
                return Err(contract(format!("the graph has no output {t:?} (it has {names:?})")));
            }
        }
        let mut det = OnnxDetector {
            session,
            manifest: manifest.clone(),
            table: manifest.class_table(),
            num_classes: 0,
            settings,
            candidates: Vec::with_capacity(256),
            views_of: Vec::with_capacity(256),
            scratch: Vec::with_capacity(256),
            times: DetectTimes::default(),
        };
        det.num_classes = det.probe_num_classes()?;
        Ok(det)
    }

    fn blank_input(&self) -> Array4<f32> {
        let (w, h) = (self.manifest.input.width as usize, self.manifest.input.height as usize);
        Array4::zeros((1, 3, h, w))
    }

    /// Runs the model on one input tensor and discards the outputs: the bare inference
    /// cost, for benchmarks.
    pub fn run_tensor(&mut self, tensor: &Array4<f32>) -> Result<(), DetectorError> {
        let inf = |e: ort::Error| DetectorError::Inference(e.to_string());
        let inputs =
            ort::inputs![self.manifest.input.name.as_str() => TensorRef::from_array_view(tensor).map_err(inf)?];
        self.session.run(inputs).map_err(inf)?;
        Ok(())
    }

    /// Runs once on a blank input to learn the class count from the output shape.
    fn probe_num_classes(&mut self) -> Result<usize, DetectorError> {
        let contract = |message: String| DetectorError::Contract { id: self.manifest.id.clone(), message };
        let blank = self.blank_input();
        let blank_view = TensorRef::from_array_view(&blank).map_err(|e| DetectorError::Inference(e.to_string()))?;
        let inputs = ort::inputs![self.manifest.input.name.as_str() => blank_view];
        let outputs = self.session.run(inputs).map_err(|e| DetectorError::Inference(e.to_string()))?;
        let (shape, _) = outputs[self.manifest.output.tensors[0].as_str()]
            .try_extract_tensor::<f32>()
            .map_err(|e| DetectorError::Inference(e.to_string()))?;
        let last = *shape.last().unwrap_or(&0) as usize;
        let classes = match self.manifest.output.decoder {
            DecoderKind::Yolox => last.saturating_sub(5),
            DecoderKind::Nanodet => last,
        };
        if classes == 0 || classes < self.table.len() {
            return Err(contract(format!(
                "output shape {shape:?} has {classes} classes, class_map needs {}",
                self.table.len()
            )));
        }
        Ok(classes)
    }

    /// Runs the model on one prepared view; appends candidates in frame pixels.
    fn detect_view(&mut self, input: &PreparedFrame, v: usize) -> Result<(), DetectorError> {
        let (tensor, map, view) = (&input.tensors[v], &input.maps[v], &input.views[v]);
        let inf = |e: ort::Error| DetectorError::Inference(e.to_string());
        let t1 = Instant::now();
        let inputs =
            ort::inputs![self.manifest.input.name.as_str() => TensorRef::from_array_view(tensor).map_err(inf)?];
        let outputs = self.session.run(inputs).map_err(inf)?;
        self.times.inferences += 1;
        self.times.inference += t1.elapsed();
        let input_size = (self.manifest.input.width, self.manifest.input.height);
        let start = self.candidates.len();
        let (m, s) = (&self.manifest, &self.settings);
        match m.output.decoder {
            DecoderKind::Yolox => {
                let (_, data) = outputs[m.output.tensors[0].as_str()].try_extract_tensor::<f32>().map_err(inf)?;
                decode::yolox(
                    data,
                    self.num_classes,
                    input_size,
                    &m.output.strides,
                    &self.table,
                    s.min_score,
                    &mut self.candidates,
                );
            }
            DecoderKind::Nanodet => {
                let n = m.output.strides.len();
                let bins = m.output.reg_bins.unwrap_or(8) as usize;
                for (i, &stride) in m.output.strides.iter().enumerate() {
                    let (_, cls) = outputs[m.output.tensors[i].as_str()].try_extract_tensor::<f32>().map_err(inf)?;
                    let (_, dis) =
                        outputs[m.output.tensors[n + i].as_str()].try_extract_tensor::<f32>().map_err(inf)?;
                    decode::nanodet(
                        cls,
                        dis,
                        self.num_classes,
                        bins,
                        stride,
                        input_size,
                        &self.table,
                        s.min_score,
                        &mut self.candidates,
                    );
                }
            }
        }
        let (fw, fh) = (input.meta.width as f32, input.meta.height as f32);
        for d in &mut self.candidates[start..] {
            d.bbox = map.to_frame(&d.bbox).clamp(view.x2.min(fw), view.y2.min(fh));
            d.bbox.x1 = d.bbox.x1.max(view.x1);
            d.bbox.y1 = d.bbox.y1.max(view.y1);
        }
        let mut i = start;
        while i < self.candidates.len() {
            if self.candidates[i].bbox.width() < 2.0 || self.candidates[i].bbox.height() < 2.0 {
                self.candidates.swap_remove(i);
            } else {
                i += 1;
            }
        }
        // NMS within the view first: keeps the cross-view merge small.
        self.scratch.clear();
        self.scratch.extend(self.candidates.drain(start..));
        nms::class_nms(&mut self.scratch, self.settings.nms_iou);
        self.candidates.extend_from_slice(&self.scratch);
        self.views_of.resize(self.candidates.len(), v);
        Ok(())
    }
}

impl Detector for OnnxDetector {
    fn input_spec(&self) -> Option<&models::InputSpec> {
        Some(&self.manifest.input)
    }

    fn times(&self) -> DetectTimes {
        self.times
    }

    fn detect_prepared(&mut self, input: &PreparedFrame, out: &mut Vec<Detection>) -> Result<(), DetectorError> {
        let start = Instant::now();
        let before = self.times.inference;
        self.candidates.clear();
        self.views_of.clear();
        for v in 0..input.views.len().min(input.tensors.len()) {
            self.detect_view(input, v)?;
        }
        if input.views.len() > 1 {
            nms::merge_views(&mut self.candidates, &mut self.views_of, self.settings.view_merge_ios);
            nms::class_nms(&mut self.candidates, self.settings.nms_iou);
        }
        nms::merge_vehicle_classes(&mut self.candidates, self.settings.cross_class_iou);
        out.clear();
        out.extend_from_slice(&self.candidates);
        self.times.preprocess += input.prep_time;
        self.times.postprocess += start.elapsed().saturating_sub(self.times.inference - before);
        Ok(())
    }

    fn model_id(&self) -> &str {
        &self.manifest.id
    }
}
