// Calls to the masklet serve API; a failed call throws an Error carrying the server's "detail".
const token = new URLSearchParams(location.search).get("token");

function headers(extra = {}) {
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

async function check(response) {
  if (response.ok) return response;
  let detail = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (typeof body.detail === "string") detail = body.detail;
    else if (Array.isArray(body.detail)) detail = body.detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
  } catch (_) { /* not JSON */ }
  throw new Error(detail);
}

export async function call(method, path, body) {
  const init = { method, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await check(await fetch(path, init));
  return response.status === 204 ? null : response.json();
}

export const MAX_UPLOAD_FILES = 1000; // the multipart parser's limit on parts

export async function upload(projectId, files) {
  if (files.length > MAX_UPLOAD_FILES) {
    throw new Error(`${files.length} files: at most ${MAX_UPLOAD_FILES} go in one upload; upload the frames as one zip instead`);
  }
  const form = new FormData();
  for (const file of files) form.append("files", file, file.webkitRelativePath || file.name);
  const response = await fetch(`/api/projects/${projectId}/media`, { method: "POST", headers: headers(), body: form });
  return (await check(response)).json();
}

export async function download(path) {
  const response = await check(await fetch(path, { headers: headers() }));
  const disposition = response.headers.get("content-disposition") || "";
  const name = (/filename="?([^";]+)"?/.exec(disposition) || [])[1] || "export";
  return { name, blob: await response.blob() };
}

export function frameUrl(mediaId, frameIdx) {
  return `/api/media/${mediaId}/frames/${frameIdx}` + (token ? `?token=${encodeURIComponent(token)}` : "");
}

export function events(jobId) {
  return new EventSource(`/api/propagations/${jobId}/events` + (token ? `?token=${encodeURIComponent(token)}` : ""));
}
