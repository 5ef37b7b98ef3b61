/** Client for the local control API, used by the CLI (`podgate status`, `podgate routes`). */
import http from "node:http";
import { isTcpEndpoint } from "./server.ts";

export class ApiUnavailableError extends Error {
  constructor(endpoint: string, cause: string) {
    super(`cannot reach podgate at ${endpoint}: ${cause} (is 'podgate run' running? --socket sets the path)`);
    this.name = "ApiUnavailableError";
  }
}

export function apiRequest<T>(endpoint: string, method: "GET" | "POST", path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const opts: http.RequestOptions = { method, path, timeout: 10_000 };
    if (isTcpEndpoint(endpoint)) {
      const idx = endpoint.lastIndexOf(":");
      opts.host = endpoint.slice(0, idx).replace(/^\[|\]$/g, "");
      opts.port = Number(endpoint.slice(idx + 1));
    } else {
      opts.socketPath = endpoint;
    }
    const req = http.request(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return reject(new Error(`bad response from podgate: ${text.slice(0, 200)}`));
        }
        if ((res.statusCode ?? 500) >= 400) {
          const msg =
            (body as { error?: string; message?: string }).error ?? (body as { message?: string }).message;
          return reject(new Error(msg ?? `HTTP ${res.statusCode}`));
        }
        resolve(body as T);
      });
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (err: NodeJS.ErrnoException) =>
      reject(new ApiUnavailableError(endpoint, err.code ?? err.message)),
    );
    req.end();
  });
}
