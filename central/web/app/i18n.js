// UI text in English and Vietnamese. Keys are stable; add both languages together.
const TEXT = {
  en: {
    title: "Traffic control centre",
    "nav.overview": "Overview", "nav.alerts": "Alerts", "nav.audit": "Audit log",
    logout: "Log out", login: "Log in", username: "User name", password: "Password",
    "login.failed": "Wrong user name or password",
    cameras: "Cameras", junctions: "Junctions", camera: "Camera", junction: "Junction",
    name: "Name", status: "Status", level: "Level now", ahead: "Level in 30 min", fps: "Frames/s",
    coverage: "Coverage", speed: "mean speed", "speed.none": "Speed: not measured (camera not calibrated)", "last.seen": "Last seen", "outbox": "Outbox depth", dropped: "Dropped",
    "config.running": "Config running", "config.file": "file",
    "st.online": "online", "st.degraded": "degraded", "st.offline": "offline", "st.silent": "silent", "st.unknown": "no data",
    "live.counts": "Live counts (latest interval)", "last.update": "Updated", "no.counts": "No interval received yet",
    "chart.counts": "Vehicles per interval, by class (last 2 hours)", "chart.forecast": "Demand and forecast (PCU/h)",
    "no.forecast": "No forecast yet", gaps: "Gaps (camera or link down)",
    "lamps.now": "Lamps now", "lamp.G": "green", "lamp.Y": "yellow", "lamp.R": "red", "times.in": "Times in", "forecast.method": "Method", "forecast.horizons": "horizons", "forecast.band": "shaded: 80 % band of the fitted model",
    "forecast.noband": "no band yet (not enough history for a fitted model)", "capacity": "capacity", "capacity.none": "not configured (no level)",
    "method.model": "fitted model", "method.profile": "time-of-day profile", "method.last_value": "same as now", "band.low": "80 % low", "band.high": "80 % high",
    "badge.unacked": "Alerts not yet acknowledged", "override.pending": "waiting for the junction to take it over", "override.allowed": "allowed", "no.record": "No interval stored yet: nothing to show, nothing missed", "counting.since": "Counting since", "in.progress": "Interval in progress since",
    car: "Car", motorcycle: "Motorbike", bus: "Bus", truck: "Truck", bicycle: "Bicycle", total: "Total",
    "running.plan": "Running plan", source: "Source", "src.central": "central", "src.local": "local (fallback)",
    plan: "Plan", version: "Version", cycle: "Cycle", offset: "Offset", greens: "Greens", stage: "Stage",
    "plan.history": "Plans issued", acks: "Acknowledgements from the junction", outcome: "Outcome", reason: "Reason",
    "override": "Override", "override.active": "Override in force until", by: "by",
    "override.stage": "Green of stage", "override.minutes": "Duration (minutes)", "override.apply": "Apply override",
    "override.cancel": "Cancel override", "override.viewer": "Your role (viewer) cannot override plans.",
    "override.sent": "Override accepted", issued: "Issued", "valid.until": "Valid until",
    alerts: "Alerts", kind: "Kind", subject: "Subject", detail: "Detail", raised: "Raised", state: "State",
    active: "active", cleared: "cleared", ack: "Acknowledge", "acked.by": "Acknowledged by", "no.alerts": "No alerts",
    "k.congestion": "congestion ahead", "k.camera_offline": "camera offline", "k.plan_rejected": "plan rejected", "k.incident": "incident", "k.camera_moved": "camera moved",
    audit: "Audit log", time: "Time", actor: "Who", role: "Role", action: "Action", target: "Target",
    "none": "—", "not.placed": "not placed on the map", "seconds": "s",
    editor: "Lines, zones and calibration", "editor.snapshot": "Snapshot", "editor.annotated": "draw detections",
    "editor.select": "Select / move", "editor.line": "Draw line", "editor.zone": "Draw zone", "editor.point": "Calibration point",
    "editor.finish": "Finish zone", "editor.delete": "Delete", "editor.save": "Save and push",
    "editor.readonly": "Read-only: your role (viewer) cannot change a camera's geometry.",
    "editor.asking": "Asking the camera for a picture…", "editor.taken": "Picture received", "editor.saved": "Saved as",
    "editor.rolledback": "Rolled back to", "editor.nopicture": "No picture yet: an operator presses Snapshot.", "editor.picture": "Camera picture",
    "editor.forward": "forward only", "editor.backward": "backward only", "editor.twoway": "two-way", "editor.oneway": "Direction",
    "editor.lanes": "Lanes", "editor.nostop": "No stopping after (s)", "editor.east": "Ground x (m)", "editor.north": "Ground y (m)",
    "editor.latest": "Latest saved", "editor.author": "By", "editor.of": "of", "editor.rollback": "Roll back to this",
    "editor.accepted": "accepted by the camera; counting with it from the next interval",
    "fleet.box": "Box", "fleet.model": "Model", "fleet.calibration": "Calibration", "fleet.snapshot": "Last snapshot",
    "fleet.calibrated": "calibrated", "fleet.points": "points", "fleet.uncalibrated": "not calibrated (no speeds)",
    "forbidden": "Not allowed for your role",
  },
  vi: {
    title: "Trung tâm điều khiển giao thông",
    "nav.overview": "Tổng quan", "nav.alerts": "Cảnh báo", "nav.audit": "Nhật ký thao tác",
    logout: "Đăng xuất", login: "Đăng nhập", username: "Tên đăng nhập", password: "Mật khẩu",
    "login.failed": "Sai tên đăng nhập hoặc mật khẩu",
    cameras: "Camera", junctions: "Nút giao", camera: "Camera", junction: "Nút giao",
    name: "Tên", status: "Trạng thái", level: "Mức hiện tại", ahead: "Mức sau 30 phút", fps: "Khung hình/giây",
    coverage: "Độ phủ", speed: "tốc độ trung bình", "speed.none": "Tốc độ: chưa đo (camera chưa hiệu chuẩn)", "last.seen": "Lần cuối", "outbox": "Hàng đợi gửi", dropped: "Bị mất",
    "config.running": "Cấu hình đang chạy", "config.file": "tệp",
    "st.online": "hoạt động", "st.degraded": "suy giảm", "st.offline": "mất kết nối", "st.silent": "im lặng", "st.unknown": "chưa có dữ liệu",
    "live.counts": "Lưu lượng trực tiếp (chu kỳ gần nhất)", "last.update": "Cập nhật", "no.counts": "Chưa nhận được chu kỳ nào",
    "chart.counts": "Số xe mỗi chu kỳ theo loại (2 giờ qua)", "chart.forecast": "Nhu cầu và dự báo (PCU/giờ)",
    "no.forecast": "Chưa có dự báo", gaps: "Khoảng trống (camera hoặc đường truyền ngừng)",
    "lamps.now": "Đèn hiện tại", "lamp.G": "xanh", "lamp.Y": "vàng", "lamp.R": "đỏ", "times.in": "Giờ theo", "forecast.method": "Phương pháp", "forecast.horizons": "tầm dự báo", "forecast.band": "vùng tô: khoảng 80 % của mô hình",
    "forecast.noband": "chưa có khoảng tin cậy (chưa đủ lịch sử để khớp mô hình)", "capacity": "năng lực thông hành", "capacity.none": "chưa cấu hình (không có mức)",
    "method.model": "mô hình đã khớp", "method.profile": "hồ sơ theo giờ trong ngày", "method.last_value": "giống hiện tại", "band.low": "cận dưới 80 %", "band.high": "cận trên 80 %",
    "badge.unacked": "Cảnh báo chưa được xác nhận", "override.pending": "đang chờ nút giao tiếp nhận", "override.allowed": "cho phép", "no.record": "Chưa lưu chu kỳ nào: chưa có gì để hiển thị, không thiếu dữ liệu", "counting.since": "Bắt đầu đếm từ", "in.progress": "Chu kỳ đang đếm từ",
    car: "Ô tô", motorcycle: "Xe máy", bus: "Xe buýt", truck: "Xe tải", bicycle: "Xe đạp", total: "Tổng",
    "running.plan": "Phương án đang chạy", source: "Nguồn", "src.central": "trung tâm", "src.local": "cục bộ (dự phòng)",
    plan: "Phương án", version: "Phiên bản", cycle: "Chu kỳ", offset: "Độ lệch", greens: "Thời gian xanh", stage: "Pha",
    "plan.history": "Phương án đã phát", acks: "Xác nhận từ nút giao", outcome: "Kết quả", reason: "Lý do",
    "override": "Can thiệp", "override.active": "Đang can thiệp đến", by: "bởi",
    "override.stage": "Thời gian xanh pha", "override.minutes": "Thời lượng (phút)", "override.apply": "Áp dụng can thiệp",
    "override.cancel": "Hủy can thiệp", "override.viewer": "Vai trò của bạn (xem) không được can thiệp phương án.",
    "override.sent": "Đã chấp nhận can thiệp", issued: "Phát lúc", "valid.until": "Hiệu lực đến",
    alerts: "Cảnh báo", kind: "Loại", subject: "Đối tượng", detail: "Chi tiết", raised: "Thời điểm", state: "Tình trạng",
    active: "đang xảy ra", cleared: "đã hết", ack: "Xác nhận", "acked.by": "Người xác nhận", "no.alerts": "Không có cảnh báo",
    "k.congestion": "sắp ùn tắc", "k.camera_offline": "camera mất kết nối", "k.plan_rejected": "phương án bị từ chối", "k.incident": "sự cố", "k.camera_moved": "camera bị lệch",
    audit: "Nhật ký thao tác", time: "Thời gian", actor: "Người thực hiện", role: "Vai trò", action: "Thao tác", target: "Đối tượng",
    "none": "—", "not.placed": "chưa đặt trên bản đồ", "seconds": "giây",
    editor: "Vạch đếm, vùng và hiệu chuẩn", "editor.snapshot": "Chụp ảnh", "editor.annotated": "vẽ phát hiện",
    "editor.select": "Chọn / di chuyển", "editor.line": "Vẽ vạch", "editor.zone": "Vẽ vùng", "editor.point": "Điểm hiệu chuẩn",
    "editor.finish": "Đóng vùng", "editor.delete": "Xóa", "editor.save": "Lưu và gửi",
    "editor.readonly": "Chỉ xem: vai trò của bạn (xem) không được sửa hình học của camera.",
    "editor.asking": "Đang yêu cầu ảnh từ camera…", "editor.taken": "Đã nhận ảnh", "editor.saved": "Đã lưu thành",
    "editor.rolledback": "Đã quay lại", "editor.nopicture": "Chưa có ảnh: người vận hành bấm Chụp ảnh.", "editor.picture": "Ảnh camera",
    "editor.forward": "chỉ chiều thuận", "editor.backward": "chỉ chiều ngược", "editor.twoway": "hai chiều", "editor.oneway": "Chiều",
    "editor.lanes": "Số làn", "editor.nostop": "Cấm dừng sau (giây)", "editor.east": "Tọa độ x (m)", "editor.north": "Tọa độ y (m)",
    "editor.latest": "Bản lưu mới nhất", "editor.author": "Người lưu", "editor.of": "của", "editor.rollback": "Quay lại bản này",
    "editor.accepted": "camera đã chấp nhận; áp dụng từ chu kỳ đếm tiếp theo",
    "fleet.box": "Thiết bị", "fleet.model": "Mô hình", "fleet.calibration": "Hiệu chuẩn", "fleet.snapshot": "Ảnh gần nhất",
    "fleet.calibrated": "đã hiệu chuẩn", "fleet.points": "điểm", "fleet.uncalibrated": "chưa hiệu chuẩn (không đo tốc độ)",
    "forbidden": "Vai trò của bạn không được phép",
  },
};

let lang = localStorage.getItem("tac.lang") === "vi" ? "vi" : "en";

export function t(key) {
  return TEXT[lang][key] ?? TEXT.en[key] ?? key;
}

export function language() {
  return lang;
}

export function setLanguage(next) {
  lang = next === "vi" ? "vi" : "en";
  localStorage.setItem("tac.lang", lang);
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

// One rule for every time on screen: the city's zone (central's `[map] timezone`, default
// Asia/Ho_Chi_Minh), 24-hour clock, day-month-year, whatever the browser's own zone or
// locale; the zone is shown in the header. The API keeps RFC 3339 / Unix ms.
let zone = "Asia/Ho_Chi_Minh";
export function setTimeZone(next) {
  try { new Intl.DateTimeFormat("en-GB", { timeZone: next }); zone = next; } catch { /* unknown zone: keep the default */ }
}
export const timeZone = () => zone;
const locale = () => (lang === "vi" ? "vi-VN" : "en-GB");
export function formatTime(ms) {
  if (ms == null) return t("none");
  return new Intl.DateTimeFormat(locale(), { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).format(new Date(ms));
}
/** Hours and minutes only (chart axes). */
export function formatClock(ms) {
  return new Intl.DateTimeFormat(locale(), { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(ms));
}
/** "Asia/Ho_Chi_Minh (GMT+7)". */
export function zoneLabel() {
  const offset = new Intl.DateTimeFormat("en-GB", { timeZone: zone, timeZoneName: "shortOffset" }).formatToParts(new Date()).find((p) => p.type === "timeZoneName")?.value;
  return offset ? `${zone} (${offset})` : zone;
}
/** uPlot options that draw a time axis in the city's zone, 24-hour. */
export function timeAxis() {
  return { tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), zone), axes: [{ values: (u, splits) => splits.map((s) => formatClock(s * 1000)) }, {}] };
}

export const KEYS = Object.keys(TEXT.en);
export const VI_KEYS = Object.keys(TEXT.vi);
