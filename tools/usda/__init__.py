"""USDA FoodData Central: nutrient values per 100 g for the grocery planner."""
