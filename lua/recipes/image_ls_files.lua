-- banger image ls-files NAME [PATH]
return recipe.new {
  description = "List a directory inside an image, without booting or mounting it",
  params = {
    { "name", positional = true, required = true, metavar = "NAME" },
    { "path", positional = true, metavar = "PATH", default = "/" },
  },
  run = function(ctx, args)
    local entries = banger.image.ls_files(args.name, args.path)
    ctx:emit(entries, function(list)
      local out = {}
      for _, e in ipairs(list) do
        out[#out + 1] = e.type == "dir" and (e.name .. "/") or e.name
      end
      return table.concat(out, "\n")
    end)
  end,
}
