-- banger run: boots this project's sandbox (.banger/sandbox.lua, found in
-- the current directory or one above it) with the project's files at /work
-- (the workspace), runs its command there (or CMD, or a shell with
-- --shell), brings its changes back (a branch banger/NAME; --apply,
-- --export DIR), exits with the command's exit code, and removes the VM.
-- A sandbox whose image is a build file (image = ".banger/image.lua") has
-- it built first when it is missing or stale (banger image build).
-- A project that needs more writes .banger/recipes/run.lua, which shadows
-- this recipe. `banger run FILE.lua [args]` runs a recipe file or
-- script instead (handled by the CLI).
return recipe.new {
  description = "Run this project's sandbox (.banger/sandbox.lua), or a recipe file (banger run FILE.lua)",
  params = {
    { "shell", type = "bool", help = "a shell in the sandbox instead of its command" },
    { "apply", type = "bool", help = "apply the workspace's changes to the working tree instead of branch banger/NAME" },
    { "export", metavar = "DIR", help = "write the workspace's changed files to the new directory DIR" },
    { "cold", type = "bool", help = "boot, even when a warm snapshot could be restored (a sandbox without a workspace)" },
    { "command", rest = true, metavar = "CMD", help = "a command to run instead of the sandbox's own" },
  },
  stages = { "image", "run" },
  run = function(ctx, args)
    local project = banger.project
    local root = project.root()
    if not root then
      banger.errors.raise("not_found", "this directory is in no project with a sandbox file",
        "create " .. project.SANDBOX_FILE .. " (see docs/recipes.md), or run 'banger run FILE.lua'")
    end
    local sandbox = project.load(root .. "/" .. project.SANDBOX_FILE)
    local build_file = project.build_file(sandbox, root)
    if build_file then
      sandbox.image = ctx:stage("image", function()
        return banger.recipe.load("image_build"):call({ file = build_file }, ctx).name
      end)
    end
    local command = #args.command > 0 and args.command or nil
    if args.shell then command = {} end  -- vm run's login shell, on a terminal
    local run_args = project.vm_run_args(sandbox, root, { command = command, apply = args.apply, export = args.export, cold = args.cold })
    local result = ctx:stage("run", function() return banger.recipe.load("vm_run"):call(run_args, ctx) end)
    ctx:emit(result, function() return "" end)  -- --json: vm run's object, printed here
    return result
  end,
}
