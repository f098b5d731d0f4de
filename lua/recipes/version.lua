-- banger version
return recipe.new {
  description = "Print banger's version",
  run = function(ctx)
    ctx:emit({ version = banger.version() }, function(v) return "banger " .. v.version end)
  end,
}
