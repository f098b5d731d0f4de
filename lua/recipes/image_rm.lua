-- banger image rm NAME...
return recipe.new {
  description = "Remove images (refused while a VM uses one)",
  params = { { "names", rest = true, dashes = false, required = true, metavar = "NAME" } },
  run = function(ctx, args)
    for _, name in ipairs(args.names) do
      banger.image.rm(name)
      ctx:emit({ removed = name }, function() return "removed image '" .. name .. "'" end)
    end
  end,
}
