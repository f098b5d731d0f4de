--- Child processes on the host (argv lists, never a shell).
local M = {}

--- Runs argv to completion and captures its output.
---@param argv string[]
---@param opts? {input?:string, cwd?:string}
---@return {code:integer, out:string, err:string}
function M.run(argv, opts) return _host.core.run(argv, opts) end

--- Runs argv with this process's stdin/stdout/stderr; returns its exit code.
---@param argv string[]
---@return integer
function M.exec(argv) return _host.core.exec(argv) end

--- The path of an executable on PATH, or nil.
---@param name string
---@return string|nil
function M.which(name) return _host.core.find_executable(name) end

--- True if the descriptor (0 stdin, 1 stdout, 2 stderr) is a terminal.
---@param fd integer
---@return boolean
function M.isatty(fd) return _host.core.isatty(fd) end

--- Sleeps `ms` milliseconds; Ctrl-C ends the wait (and the recipe, exit 130).
---@param ms integer
function M.sleep(ms)
  _host.core.sleep_ms(ms)
  _host.core.check_interrupted()
end

--- Milliseconds on a monotonic clock (fractional), for timing: differences
--- between two calls mean something, a single value does not.
---@return number
function M.clock_ms() return _host.core.monotonic_ms() end

--- This process's pid.
---@return integer
function M.pid() return _host.core.getpid() end

--- An environment variable of this process, or nil.
---@param name string
---@return string|nil
function M.getenv(name) return _host.core.getenv(name) end

return M
